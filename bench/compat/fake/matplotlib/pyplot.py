def _noop(*a, **k): return None
figure = title = xlabel = ylabel = xticks = yticks = plot = savefig = close = _noop
