# Points with error bars and their fitted curves. Data: `data` (index i: x, y, sigma) and
# `curve_data` (index i: x, f(x)). Variables: title_text, xlabel_text, ylabel_text, log_x, log_y,
# n_series, series_titles[n_series], fit_titles[n_series].
set title title_text
set xlabel xlabel_text
set ylabel ylabel_text
if (log_x) { set logscale x }
if (log_y) { set logscale y }
set key top right
plot for [i=1:n_series] data index (i-1) u 1:2:3 w yerrorbars ls ((i-1)%8+1) title series_titles[i], \
     for [i=1:n_series] curve_data index (i-1) u 1:2 w l ls ((i-1)%8+1) dt 2 title fit_titles[i]
