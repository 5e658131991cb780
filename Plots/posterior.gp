# Per-event posterior: samples as points, the truth marked. Data columns: x, y of each sample.
# Variables: data, title_text, xlabel_text, ylabel_text, truth_x, truth_y.
set title title_text
set xlabel xlabel_text
set ylabel ylabel_text
set key top right
plot data u 1:2 w p pt 7 ps 0.4 lc rgb '#801f77b4' title 'posterior samples', \
     '+' u (truth_x):(truth_y) every ::0::0 w p pt 3 ps 3 lw 3 lc rgb '#d62728' title 'truth'
