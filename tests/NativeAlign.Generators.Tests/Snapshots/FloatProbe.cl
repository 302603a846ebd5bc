// FloatProbe: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
// MathF.Max/Min semantics: NaN when either operand is NaN, +0 above -0 (fmax/fmin would drop the NaN).
float na_max(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? y : x) : fmax(x, y); }
float na_min(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? x : y) : fmin(x, y); }
float TranslationProbeKernels_Twice(float v)
{
    return v + v;
}

float TranslationProbeKernels_Square(float v)
{
    return TranslationProbeKernels_Twice(v) * v * 0.5f;
}

__kernel void FloatProbe(__global const float* input, __global float* output, int n)
{
    int i = (int)get_global_id(0);
    if (i < n)
    {
        float x = input[i];
        float ax = fabs(x);
        int o = i * 7;
        output[o] = exp(-ax) + sqrt(ax) - log(ax + 1.0f);
        output[o + 1] = tanh(x) * na_max(x, 0.5f) + na_min(x, -0.5f);
        output[o + 2] = floor(x * 3.5f) + ceil(x) + rint(x * 2.0f) + trunc(-x);
        output[o + 3] = fmod(x, 0.75f) + fma(x, 2.0f, 1.0f);
        output[o + 4] = sin(x) * cos(x) + pow(ax, 1.5f) + atan2(x, 2.0f);
        output[o + 5] = x > 0.0f ? TranslationProbeKernels_Square(x) : -TranslationProbeKernels_Square(x) / (1.0f + ax);
        output[o + 6] = (float)(int)(x * 10.0f) + (float)i * 0.5f;
    }
}
