// Train layer: see ../shared/STYLE.md for what belongs here.
