// The Unfolding module: see ../shared/DESIGN.md, table 'Modules'. Its issue fills it.
