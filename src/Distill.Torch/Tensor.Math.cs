using Distill.Torch.Interop;

namespace Distill.Torch;

// Codes shared with ops.cpp.
internal enum UnaryOp
{
    Neg = 0, Abs, Exp, Log, Sqrt, Rsqrt, Sin, Cos, Tanh, Sigmoid,
    Relu = 10, Silu, Gelu, GeluTanh, Hardsigmoid, Floor, Ceil, Round, Sign, Erf,
    Erfinv = 20, Reciprocal, Square, Log1p, Expm1, IsNan, IsInf, IsFinite, LogicalNot, Relu6,
    Hardswish = 30, Softplus, LogSigmoid, Trunc, Frac, Log2, Atan, Acos, Asin, Tan,
}

internal enum BinaryOp
{
    Add = 0, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt,
    Le = 10, Gt, Ge, LogicalAnd, LogicalOr, Remainder, Atan2, FloorDivide, BitwiseAnd,
    BitwiseOr, LogicalXor = 20, DivFloor, DivTrunc,
}

/// <summary>Elementwise math, comparisons and in-place updates (names as in PyTorch; a trailing _ is in place).</summary>
public sealed partial class Tensor
{
    private Tensor Unary(UnaryOp op) => new(Native.distill_unary((int)op, Handle));

    private Tensor Unary_(UnaryOp op)
    {
        Native.Check(Native.distill_unary_((int)op, Handle));
        return this;
    }

    private Tensor Binary(BinaryOp op, Tensor other) => new(Native.distill_binary((int)op, Handle, other.Handle));

    private Tensor Binary(BinaryOp op, double other) => new(Native.distill_binary_scalar((int)op, Handle, other));

    private Tensor Binary_(BinaryOp op, Tensor other)
    {
        Native.Check(Native.distill_binary_((int)op, Handle, other.Handle));
        return this;
    }

    private Tensor Binary_(BinaryOp op, double other)
    {
        Native.Check(Native.distill_binary_scalar_((int)op, Handle, other));
        return this;
    }

    public Tensor Neg() => Unary(UnaryOp.Neg);
    public Tensor Abs() => Unary(UnaryOp.Abs);
    public Tensor Exp() => Unary(UnaryOp.Exp);
    public Tensor Log() => Unary(UnaryOp.Log);
    public Tensor Log2() => Unary(UnaryOp.Log2);
    public Tensor Log1p() => Unary(UnaryOp.Log1p);
    public Tensor Expm1() => Unary(UnaryOp.Expm1);
    public Tensor Sqrt() => Unary(UnaryOp.Sqrt);
    public Tensor Rsqrt() => Unary(UnaryOp.Rsqrt);
    public Tensor Sin() => Unary(UnaryOp.Sin);
    public Tensor Cos() => Unary(UnaryOp.Cos);
    public Tensor Tan() => Unary(UnaryOp.Tan);
    public Tensor Atan() => Unary(UnaryOp.Atan);
    public Tensor Asin() => Unary(UnaryOp.Asin);
    public Tensor Acos() => Unary(UnaryOp.Acos);
    public Tensor Tanh() => Unary(UnaryOp.Tanh);
    public Tensor Sigmoid() => Unary(UnaryOp.Sigmoid);
    public Tensor Relu() => Unary(UnaryOp.Relu);
    public Tensor Relu6() => Unary(UnaryOp.Relu6);
    public Tensor Silu() => Unary(UnaryOp.Silu);
    /// <summary>GELU, exact (erf) by default or the tanh approximation.</summary>
    public Tensor Gelu(bool tanhApproximation = false) => Unary(tanhApproximation ? UnaryOp.GeluTanh : UnaryOp.Gelu);
    /// <summary>PyTorch's hardsigmoid: clip(x / 6 + 1/2, 0, 1).</summary>
    public Tensor Hardsigmoid() => Unary(UnaryOp.Hardsigmoid);
    public Tensor Hardswish() => Unary(UnaryOp.Hardswish);
    public Tensor Softplus() => Unary(UnaryOp.Softplus);
    public Tensor LogSigmoid() => Unary(UnaryOp.LogSigmoid);
    public Tensor Floor() => Unary(UnaryOp.Floor);
    public Tensor Ceil() => Unary(UnaryOp.Ceil);
    /// <summary>Rounds half to even, as torch.round.</summary>
    public Tensor Round() => Unary(UnaryOp.Round);
    public Tensor Trunc() => Unary(UnaryOp.Trunc);
    public Tensor Frac() => Unary(UnaryOp.Frac);
    public Tensor Sign() => Unary(UnaryOp.Sign);
    public Tensor Erf() => Unary(UnaryOp.Erf);
    public Tensor Erfinv() => Unary(UnaryOp.Erfinv);
    public Tensor Reciprocal() => Unary(UnaryOp.Reciprocal);
    public Tensor Square() => Unary(UnaryOp.Square);
    public Tensor IsNan() => Unary(UnaryOp.IsNan);
    public Tensor IsInf() => Unary(UnaryOp.IsInf);
    public Tensor IsFinite() => Unary(UnaryOp.IsFinite);
    public Tensor LogicalNot() => Unary(UnaryOp.LogicalNot);

    public Tensor Neg_() => Unary_(UnaryOp.Neg);
    public Tensor Abs_() => Unary_(UnaryOp.Abs);
    public Tensor Exp_() => Unary_(UnaryOp.Exp);
    public Tensor Log_() => Unary_(UnaryOp.Log);
    public Tensor Sqrt_() => Unary_(UnaryOp.Sqrt);
    public Tensor Tanh_() => Unary_(UnaryOp.Tanh);
    public Tensor Sigmoid_() => Unary_(UnaryOp.Sigmoid);
    public Tensor Relu_() => Unary_(UnaryOp.Relu);
    public Tensor Silu_() => Unary_(UnaryOp.Silu);
    public Tensor Hardsigmoid_() => Unary_(UnaryOp.Hardsigmoid);
    public Tensor Floor_() => Unary_(UnaryOp.Floor);
    public Tensor Round_() => Unary_(UnaryOp.Round);
    public Tensor Erfinv_() => Unary_(UnaryOp.Erfinv);
    public Tensor Reciprocal_() => Unary_(UnaryOp.Reciprocal);
    public Tensor Square_() => Unary_(UnaryOp.Square);

    public Tensor Add(Tensor other) => Binary(BinaryOp.Add, other);
    public Tensor Add(Tensor other, double alpha) => new(Native.distill_add_alpha(Handle, other.Handle, alpha));
    public Tensor Add(double other) => Binary(BinaryOp.Add, other);
    public Tensor Sub(Tensor other) => Binary(BinaryOp.Sub, other);
    public Tensor Sub(double other) => Binary(BinaryOp.Sub, other);
    public Tensor Mul(Tensor other) => Binary(BinaryOp.Mul, other);
    public Tensor Mul(double other) => Binary(BinaryOp.Mul, other);
    public Tensor Div(Tensor other) => Binary(BinaryOp.Div, other);
    public Tensor Div(double other) => Binary(BinaryOp.Div, other);
    public Tensor Pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor Pow(double exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor Remainder(Tensor other) => Binary(BinaryOp.Remainder, other);
    public Tensor Remainder(double other) => Binary(BinaryOp.Remainder, other);
    public Tensor FloorDivide(Tensor other) => Binary(BinaryOp.DivFloor, other);
    public Tensor FloorDivide(double other) => Binary(BinaryOp.DivFloor, other);
    public Tensor Atan2(Tensor other) => Binary(BinaryOp.Atan2, other);
    public Tensor Maximum(Tensor other) => Binary(BinaryOp.Maximum, other);
    public Tensor Minimum(Tensor other) => Binary(BinaryOp.Minimum, other);
    public Tensor Eq(Tensor other) => Binary(BinaryOp.Eq, other);
    public Tensor Eq(double other) => Binary(BinaryOp.Eq, other);
    public Tensor Ne(Tensor other) => Binary(BinaryOp.Ne, other);
    public Tensor Ne(double other) => Binary(BinaryOp.Ne, other);
    public Tensor Lt(Tensor other) => Binary(BinaryOp.Lt, other);
    public Tensor Lt(double other) => Binary(BinaryOp.Lt, other);
    public Tensor Le(Tensor other) => Binary(BinaryOp.Le, other);
    public Tensor Le(double other) => Binary(BinaryOp.Le, other);
    public Tensor Gt(Tensor other) => Binary(BinaryOp.Gt, other);
    public Tensor Gt(double other) => Binary(BinaryOp.Gt, other);
    public Tensor Ge(Tensor other) => Binary(BinaryOp.Ge, other);
    public Tensor Ge(double other) => Binary(BinaryOp.Ge, other);
    public Tensor LogicalAnd(Tensor other) => Binary(BinaryOp.LogicalAnd, other);
    public Tensor LogicalOr(Tensor other) => Binary(BinaryOp.LogicalOr, other);
    public Tensor LogicalXor(Tensor other) => Binary(BinaryOp.LogicalXor, other);

    public Tensor Add_(Tensor other) => Binary_(BinaryOp.Add, other);
    public Tensor Add_(double other) => Binary_(BinaryOp.Add, other);
    public Tensor Add_(Tensor other, double alpha)
    {
        Native.Check(Native.distill_add_alpha_(Handle, other.Handle, alpha));
        return this;
    }
    public Tensor Sub_(Tensor other) => Binary_(BinaryOp.Sub, other);
    public Tensor Sub_(double other) => Binary_(BinaryOp.Sub, other);
    public Tensor Mul_(Tensor other) => Binary_(BinaryOp.Mul, other);
    public Tensor Mul_(double other) => Binary_(BinaryOp.Mul, other);
    public Tensor Div_(Tensor other) => Binary_(BinaryOp.Div, other);
    public Tensor Div_(double other) => Binary_(BinaryOp.Div, other);
    public Tensor Pow_(double other) => Binary_(BinaryOp.Pow, other);

    /// <summary>scalar - this.</summary>
    public Tensor RSub(double scalar) => new(Native.distill_rsub_scalar(Handle, scalar));

    public Tensor Addcmul(Tensor t1, Tensor t2, double value = 1) => new(Native.distill_addcmul(Handle, t1.Handle, t2.Handle, value));
    public Tensor Addcdiv(Tensor t1, Tensor t2, double value = 1) => new(Native.distill_addcdiv(Handle, t1.Handle, t2.Handle, value));
    public Tensor Addcmul_(Tensor t1, Tensor t2, double value = 1)
    {
        Native.Check(Native.distill_addcmul_(Handle, t1.Handle, t2.Handle, value));
        return this;
    }
    public Tensor Addcdiv_(Tensor t1, Tensor t2, double value = 1)
    {
        Native.Check(Native.distill_addcdiv_(Handle, t1.Handle, t2.Handle, value));
        return this;
    }
    public Tensor Lerp(Tensor end, double weight) => new(Native.distill_lerp(Handle, end.Handle, weight));
    public Tensor Lerp_(Tensor end, double weight)
    {
        Native.Check(Native.distill_lerp_(Handle, end.Handle, weight));
        return this;
    }

    public Tensor Clamp(double? min = null, double? max = null) =>
        new(Native.distill_clamp(Handle, min.HasValue, min ?? 0, max.HasValue, max ?? 0));
    public Tensor Clamp(Tensor? min, Tensor? max) =>
        new(Native.distill_clamp_tensor(Handle, min?.Handle ?? TensorHandle.Null, max?.Handle ?? TensorHandle.Null));
    public Tensor ClampMin(double min) => Clamp(min, null);
    public Tensor ClampMax(double max) => Clamp(null, max);
    public Tensor Clamp_(double? min = null, double? max = null)
    {
        Native.Check(Native.distill_clamp_(Handle, min.HasValue, min ?? 0, max.HasValue, max ?? 0));
        return this;
    }

    public Tensor MaskedFill(Tensor mask, double value) => new(Native.distill_masked_fill(Handle, mask.Handle, value));
    public Tensor MaskedFill_(Tensor mask, double value)
    {
        Native.Check(Native.distill_masked_fill_(Handle, mask.Handle, value));
        return this;
    }
    /// <summary>
    /// The elements where <paramref name="mask"/> is true, in row-major order. A non-contiguous input (a permuted or
    /// channels-last view) is first copied to row-major order: libtorch 1.13's backward of masked_select scatters the
    /// gradient in memory order, which gives the gradient of the wrong elements for such inputs.
    /// </summary>
    public Tensor MaskedSelect(Tensor mask)
    {
        if (IsContiguous()) return new(Native.distill_masked_select(Handle, mask.Handle));
        using var contiguous = Contiguous();
        return new(Native.distill_masked_select(contiguous.Handle, mask.Handle));
    }
    public Tensor Nonzero() => new(Native.distill_nonzero(Handle));

    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8)
    {
        using var r = new Tensor(Native.distill_allclose(Handle, other.Handle, rtol, atol));
        return r.ItemLong() != 0;
    }

    public Tensor MatMul(Tensor other) => CountMatMul(new(Native.distill_matmul(Handle, other.Handle)));
    public Tensor Mm(Tensor other) => CountMatMul(new(Native.distill_mm(Handle, other.Handle)));
    public Tensor Bmm(Tensor other) => CountMatMul(new(Native.distill_bmm(Handle, other.Handle)));

    private Tensor CountMatMul(Tensor y)
    {
        if (FlopCounter.Active) FlopCounter.Add(y.NumEl * Size(-1));
        return y;
    }
    public Tensor Outer(Tensor other) => new(Native.distill_outer(Handle, other.Handle));

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator +(Tensor a, double b) => a.Add(b);
    public static Tensor operator +(double a, Tensor b) => b.Add(a);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);
    public static Tensor operator -(double a, Tensor b) => b.RSub(a);
    public static Tensor operator -(Tensor a) => a.Neg();
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator /(Tensor a, double b) => a.Div(b);
    public static Tensor operator /(double a, Tensor b) => new(Native.distill_rdiv_scalar(b.Handle, a));
}
