# Truth, detector level and unfolded histograms with statistical bands, and a ratio panel.
# Data columns: 1 low edge, 2 high edge, 3 centre, 4 truth, 5 truth error, 6 detector,
# 7 detector error, 8 unfolded, 9 unfolded error, 10 unfolded/truth, 11 its error,
# 12 truth relative error. Variables: data, title_text, xlabel_text, ylabel_text, log_y,
# detector_title ("" for none), unfolded_title, truth_title, ratio_range, ratio_label_text. Ratio points outside
# the panel's range are drawn as arrows at its edge, pointing the way the point lies.
set multiplot title title_text
set lmargin at screen 0.14
set rmargin at screen 0.96
set tmargin at screen 0.90
set bmargin at screen 0.36
set format x ''
unset xlabel
set ylabel ylabel_text
if (log_y) { set logscale y; set format y '10^{%L}' }
plot data u 3:8:1:2:($8-$9):($8+$9) w boxxyerror fs solid noborder fc rgb band_unfolded notitle, \
     data u 3:4 w histeps ls 1 title truth_title, \
     data u 3:6 w histeps ls 2 title detector_title, \
     data u 3:8 w histeps ls 3 title unfolded_title
unset logscale y
set format y '%g'
set tmargin at screen 0.36
set bmargin at screen 0.12
set format x '%g'
set xlabel xlabel_text
set ylabel ratio_label_text
set yrange [1 - ratio_range : 1 + ratio_range]
set ytics 1 - ratio_range / 2, ratio_range / 2, 1 + ratio_range / 2
set mytics 2
unset key
ratio_top = 1 + ratio_range
ratio_bottom = 1 - ratio_range
arrow_length = 0.3 * ratio_range
inside(r) = (r >= ratio_bottom && r <= ratio_top) ? r : NaN
plot data u 3:(1):1:2:(1-$12):(1+$12) w boxxyerror fs solid noborder fc rgb band_truth, \
     1 w l ls 9, \
     data u 3:(inside($10)):11 w yerrorbars ls 3, \
     data u 3:($10 > ratio_top ? ratio_top - arrow_length : NaN):(0):(arrow_length) w vectors head filled size screen 0.012,25 ls 3, \
     data u 3:($10 < ratio_bottom ? ratio_bottom + arrow_length : NaN):(0):(-arrow_length) w vectors head filled size screen 0.012,25 ls 3
unset multiplot
