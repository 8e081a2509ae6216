# Neural spline flow (Durkan et al. 2019) with coupling layers, for 2-D data:
# each coupling layer passes one coordinate through a rational-quadratic
# spline with 8 bins on [-3, 3] (the identity outside), its 23 parameters
# produced by an MLP from the other coordinate.
flow nsf_moons(dim = 2, base = normal) {
  repeat 4 {
    coupling spline(mask = alternate, bins = 8, bound = 3) {
      net = mlp(hidden = [64, 64], act = relu)
    }
  }
}
