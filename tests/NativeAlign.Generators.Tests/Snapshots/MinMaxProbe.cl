// MinMaxProbe: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
// MathF.Max/Min semantics: NaN when either operand is NaN, +0 above -0 (fmax/fmin would drop the NaN).
float na_max(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? y : x) : fmax(x, y); }
float na_min(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? x : y) : fmin(x, y); }
__kernel void MinMaxProbe(__global const float* a, __global const float* b, __global float* max_, __global float* min_, int n)
{
    int i = (int)get_global_id(0);
    if (i < n)
    {
        max_[i] = na_max(a[i], b[i]);
        min_[i] = na_min(a[i], b[i]);
    }
}
