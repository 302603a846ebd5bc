// HalfArithmeticProbe: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
__kernel void HalfArithmeticProbe(__global const half* input, __global half* output, half bias, int n)
{
    int i = (int)get_global_id(0);
    if (i < n)
    {
        half x = input[i];
        half y = x * x - bias;
        vstore_half(y > x ? (float)y : (float)x * 0.5f, i, output);
    }
}
