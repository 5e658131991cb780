# Calibration curves: fraction of events whose truth lies below the posterior quantile q,
# against q, with the diagonal. Data: one block per curve (index i), columns expected, observed.
# Variables: data, title_text, n_series, series_titles[n_series].
set title title_text
set xlabel 'posterior quantile'
set ylabel 'fraction of events'
set xrange [0:1]
set yrange [0:1]
set size ratio -1
set key top left
plot x w l ls 9 title 'calibrated', \
     for [i=1:n_series] data index (i-1) u 1:2 w steps ls ((i-1)%8+1) dt 1 title series_titles[i]
