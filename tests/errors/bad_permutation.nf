flow f(dim = 3) {
  permute [0, 1]
# expect: 2:11: error: permutation has 2 entries but the flow has dim 3
  permute [0, 1, 1]
# expect: 4:18: error: permutation repeats entry 1
  permute [0, 3, 1]
# expect: 6:15: error: permutation entry 3 is out of range for dim 3
  permute random(sed = 2)
# expect: 8:11: error: missing argument 'seed' for 'random'
# expect: 8:18: error: unknown argument 'sed' for 'random'; did you mean 'seed'?
  permute random(seed = -1)
# expect: 11:25: error: 'seed' must be an integer >= 0, found -1
}
