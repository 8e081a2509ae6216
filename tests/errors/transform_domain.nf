# A transform whose domain moves with a parameter: log(x - a) is defined for
# x > a, an interval that training moves; nfc cannot state the support.
transform shiftlog(x; a) = log(x - a) + x
flow e(dim = 2) {
  elementwise shiftlog(a = -5)
# expect: 5:3: warning: cannot tell where transform 'shiftlog' is defined: the argument of log, x - a, may leave (0, inf); inputs there give NaN
# expect: 5:3: warning: cannot prove that transform 'shiftlog' is strictly monotone here: dz/dx = 1 + 1 / (x - a) may be 0
}
