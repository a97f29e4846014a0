// tanh(x) in f64, as the elementwise TanhVec op computes it: written down
// once here, so that codegen emits exactly these operations on vectors of
// any width and the interpreter runs them on scalars, and every target gives
// the same bits (libm's tanh would be one call per element, and libm's own).
// About 1 ulp over the whole range (scripts/fit_tanh64.py fits kPoly and
// reports the error; tests/unit/interpreter_test.cpp checks it).
//   a = |x|, s = x * x
//   small = fma(x * s, R(s), x),  R(s) = kPoly Horner in s with fma (c11 first)
//   ac = kBig < a ? kBig : a                 (NaN stays NaN)
//   y = -2 * ac;  n = rint(y * kLog2e)       (n in [-64, -1])
//   r = fma(-n, kLn2Hi, y);  r = fma(-n, kLn2Lo, r)
//   q = 1/13!;  q = fma(q, r, 1/k!) for k = 12..1;  q = fma(q, r, 1)   (exp r)
//   e = q * 2^n (2^n from its bits; n of a NaN taken as 0: e stays NaN)
//   big = (1 - e) / (1 + e)
//   tanh(x) = copysign(a < kSmall ? small : big, x)   (-0 stays -0)
#pragma once

namespace rvj::ir::tanh_f64 {

inline constexpr double kSmall = 0.625;  // below: the odd polynomial
inline constexpr double kBig = 22.0;     // tanh(22) rounds to 1
inline constexpr double kPoly[12] = {-0.3333333333333333,     0.13333333333333033,   -0.05396825396788825,
                                     0.021869488518662286,    -0.008863235096209671, 0.003592121667721315,
                                     -0.0014557747943454275,  0.0005896577189384784, -0.0002375816628927853,
                                     9.255408976445487e-05,   -3.118276779963142e-05, 6.476658369354856e-06};
inline constexpr double kLog2e = 1.4426950408889634;
inline constexpr double kLn2Hi = 6.93147180369123816490e-01;  // trailing zeros: n * kLn2Hi is exact
inline constexpr double kLn2Lo = 1.90821492927058770002e-10;
inline constexpr double kInvFactorial[14] = {1.0,
                                             1.0,
                                             1.0 / 2,
                                             1.0 / 6,
                                             1.0 / 24,
                                             1.0 / 120,
                                             1.0 / 720,
                                             1.0 / 5040,
                                             1.0 / 40320,
                                             1.0 / 362880,
                                             1.0 / 3628800,
                                             1.0 / 39916800,
                                             1.0 / 479001600,
                                             1.0 / 6227020800};

}  // namespace rvj::ir::tanh_f64
