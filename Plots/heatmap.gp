# 2D density or sigma_pred map. Data columns: x centre, y centre, value; one block of y per x.
# Variables: data, title_text, xlabel_text, ylabel_text, zlabel_text, log_z.
set title title_text
set xlabel xlabel_text
set ylabel ylabel_text
set cblabel zlabel_text
if (log_z) { set logscale cb }
set size ratio -1
set autoscale xfix
set autoscale yfix
unset grid
plot data u 1:2:3 w image notitle
