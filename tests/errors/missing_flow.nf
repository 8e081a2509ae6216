# Transforms alone are not a model.
transform shift(x; t) = x + t
# expect: 2:30: error: missing flow: a file must define one 'flow NAME(dim = N) { ... }'
