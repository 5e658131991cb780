# Mass peak: one or more spectra as steps with error bars, the nominal mass marked.
# Data: one block per series (index i): centre, value, error. Variables: data, title_text,
# xlabel_text, ylabel_text, log_y, n_series, series_titles[n_series], peak_mass (NaN for none).
set title title_text
set xlabel xlabel_text
set ylabel ylabel_text
if (log_y) { set logscale y }
if (peak_mass == peak_mass) { set arrow from peak_mass, graph 0 to peak_mass, graph 1 nohead ls 9 }
set key top right
plot for [i=1:n_series] data index (i-1) u 1:2 w histeps ls ((i-1)%8+1) title series_titles[i], \
     for [i=1:n_series] data index (i-1) u 1:2:3 w yerrorbars ls ((i-1)%8+1) pt 0 notitle
