# A transform body may use only its input and its parameters.
transform scale(x; s) = x * exp(r)
# expect: 2:33: error: unknown name 'r' in transform 'scale'

flow f(dim = 2) {
  coupling scale(mask = alternate)
}
