# Refold house style. Loaded by every plot script after `reset`; sets no terminal, so the same
# plot renders to PNG (pngcairo), PDF (pdfcairo) and into the multi-page report.
set encoding utf8
# Line styles: 1 truth, 2 detector level, 3 unfolded, 4-8 further series; 9 reference lines.
set style line 1 lc rgb '#000000' lw 2 dt 1 pt 7 ps 0.6
set style line 2 lc rgb '#1f77b4' lw 2 dt 2 pt 5 ps 0.6
set style line 3 lc rgb '#d62728' lw 2 dt 1 pt 7 ps 0.6
set style line 4 lc rgb '#2ca02c' lw 2 dt 1 pt 9 ps 0.6
set style line 5 lc rgb '#9467bd' lw 2 dt 1 pt 11 ps 0.6
set style line 6 lc rgb '#ff7f0e' lw 2 dt 1 pt 13 ps 0.6
set style line 7 lc rgb '#8c564b' lw 2 dt 1 pt 5 ps 0.6
set style line 8 lc rgb '#17becf' lw 2 dt 1 pt 9 ps 0.6
set style line 9 lc rgb '#555555' lw 1.5 dt 4
set style line 10 lc rgb '#d0d0d0' lw 1 dt 3
set grid back ls 10
set border 31 lw 1.2
set tics scale 1.2, 0.6 front
set mxtics
set mytics
set key top right spacing 1.2 samplen 2.5 noopaque nobox
set palette defined (0 '#ffffff', 1 '#c6dbef', 2 '#6baed6', 3 '#2171b5', 4 '#08306b')
# Band fill colours (transparent): statistical bands of truth and unfolded.
band_truth = '#80888888'
band_unfolded = '#a0d62728'
