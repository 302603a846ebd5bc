// IntegerProbe: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
int TranslationProbeKernels_Clamp(int value, int low, int high)
{
    return min(max(value, low), high);
}

__kernel void IntegerProbe(__global const int* input, __global int* ints, __global long* longs, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n)
    {
        return;
    }
    int x = input[i];
    uint u = (uint)x;
    long wide = (long)x;
    int acc = 0;
    for (int k = 0; k < 5; k++)
    {
        if (k == 3)
        {
            continue;
        }
        acc += (x >> k) ^ (k << 2);
        acc -= x % (k + 2);
    }
    int steps = 0;
    while (u > 1u && steps < 40)
    {
        u = (u & 1u) == 0u ? u / 2u : 3u * u + 1u;
        steps++;
    }
    do
    {
        steps--;
        if (steps < -3)
        {
            break;
        }
    }
    while (steps > 30);
    bool odd = (x & 1) != 0;
    bool negative = x < 0;
    int flags = (odd ? 1 : 0) | (negative && !odd ? 2 : 0) | (odd || negative ? 4 : 0);
    acc = max(acc, -1000) + min(steps, 7) + TranslationProbeKernels_Clamp(x, -50, 50) + (~flags & 15) - -3;
    acc *= 3;
    acc /= 2;
    acc <<= 1;
    acc >>= 1;
    acc |= 256;
    acc &= 65535;
    acc ^= 5;
    ++steps;
    steps++;
    ints[i] = acc + steps;
    wide = wide * 1000003L + (long)u - 3074457345618258602L;
    longs[i] = wide;
}
