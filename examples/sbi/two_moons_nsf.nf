# A neural spline flow for the two_moons task (see two_moons.nf): five
# rational-quadratic spline couplings (Durkan et al. 2019) with 10 bins on
# [-3, 3] and linear tails, each conditioner an MLP of two ReLU layers of 50
# units reading the untouched coordinate and the context x, the masks
# alternating — sbi's posterior_nn(model = "nsf") in spirit (sbi adds an LU
# linear layer after each coupling and uses residual conditioners). Its thin
# crescents are what affine MAF layers fit worst. Trained by run.py:
#   python3 examples/sbi/run.py --tasks two_moons
flow two_moons_nsf(dim = 2, context = 2) {
  repeat 5 {
    coupling spline(mask = alternate, bins = 10, bound = 3) { net = mlp(hidden = [50, 50], act = relu) }
  }
}
