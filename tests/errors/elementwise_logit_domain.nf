# logit is increasing on its domain (0, 1). Its derivative 1/(x(1-x)) is
# negative outside it, where logit itself is undefined: the sign search
# counts only points where the function is defined, so this is no witness
# (it refused the layer once). Monotonicity on the domain is not proved by
# interval arithmetic yet, so a warning remains.
flow e(dim = 2) {
  elementwise logit
# expect: 7:3: warning: cannot prove that transform 'logit' is strictly monotone here: dz/dx = 1 / (x * (1 - x)) may be 0
}
