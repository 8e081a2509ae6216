# logit is defined on (0, 1) only; after exp its input ranges over (0, inf),
# so data with x > 0 would reach it outside its domain (NaN densities).
# elementwise logit as the first layer is fine: its domain is the support.
flow e(dim = 2) {
  elementwise exp
  elementwise logit
# expect: 6:3: error: this layer is defined only for x0 in (0, 1), but its input x0 takes values in (0, inf): the layers before it can map data outside its domain
}
