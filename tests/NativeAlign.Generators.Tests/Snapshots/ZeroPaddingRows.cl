// ZeroPaddingRows: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void ZeroPaddingRows(__global float* x, __global const int* mask, int rows, int columns)
{
    int c = (int)get_global_id(0);
    int r = (int)get_global_id(1);
    if (c < columns && r < rows && mask[r] == 0)
    {
        x[r * columns + c] = 0.0f;
    }
}
