# A transform with a step: z jumps from 0 to 1 at x = 0 for every net output
# a, so the coupling is not a bijection (its image skips an interval).
transform step(x; a) = x + where(x > 0, 1, 0) + a
flow j(dim = 2) {
  coupling step(mask = alternate) { net = mlp(hidden = [4]) }
# expect: 5:3: error: transform 'step' is not a bijection here: z jumps at x = 0 from -1e-06 to 1
}
