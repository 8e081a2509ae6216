# `param` is a statement of the flow's top level or of a map; `let` only of a
# map. Coupling blocks get their parameters from the network.
flow f(dim = 2) {
  coupling affine(mask = alternate) {
    param s0 = 1
# expect: 5:5: error: a coupling block cannot declare parameters (its network provides them); declare 'param' at the top level of the flow or inside a map
    let u = 2
# expect: 7:5: error: 'let' is only allowed inside a map block
  }
  repeat 2 {
    param g = 1
# expect: 11:5: error: a 'param' declaration cannot be inside 'repeat'; declare it at the top level of the flow, or inside a map
    map { param h = 1; z0 = x0 * h; z1 = x1 }
  }
  let r = 2
# expect: 15:3: error: 'let' is only allowed inside a map block
}
