# A user transform whose derivative 2x changes sign: the coupling is refused
# (the net's output a does not enter dz/dx, so the search decides it).
transform sq(x; a) = x^2 + a
flow t(dim = 2) {
  coupling sq(mask = alternate) { net = mlp(hidden = [8]) }
# expect: 5:3: error: transform 'sq' is not a bijection here: z is not monotone in x: dz/dx = -0.5 at x = -0.25, +0.5 at x = 0.25
}
