// MatMulTransposedB: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
void GemmKernels_StoreRow(__global float* c, int m, int n, int row, int column0, float v0, float v1, float v2, float v3)
{
    if (row >= m)
    {
        return;
    }
    int offset = row * n;
    c[offset + column0] = v0;
    if (column0 + 1 < n)
    {
        c[offset + column0 + 1] = v1;
    }
    if (column0 + 2 < n)
    {
        c[offset + column0 + 2] = v2;
    }
    if (column0 + 3 < n)
    {
        c[offset + column0 + 3] = v3;
    }
}

__kernel void MatMulTransposedB(__global const float* a, __global const float* b, __global float* c, int m, int n, int k)
{
    int column0 = (int)get_global_id(0) * 4;
    int row0 = (int)get_global_id(1) * 4;
    if (row0 >= m || column0 >= n)
    {
        return;
    }
    int a0 = row0 * k;
    int a1 = min(row0 + 1, m - 1) * k;
    int a2 = min(row0 + 2, m - 1) * k;
    int a3 = min(row0 + 3, m - 1) * k;
    int b0 = column0 * k;
    int b1 = min(column0 + 1, n - 1) * k;
    int b2 = min(column0 + 2, n - 1) * k;
    int b3 = min(column0 + 3, n - 1) * k;
    float s00 = 0.0f, s01 = 0.0f, s02 = 0.0f, s03 = 0.0f;
    float s10 = 0.0f, s11 = 0.0f, s12 = 0.0f, s13 = 0.0f;
    float s20 = 0.0f, s21 = 0.0f, s22 = 0.0f, s23 = 0.0f;
    float s30 = 0.0f, s31 = 0.0f, s32 = 0.0f, s33 = 0.0f;
    for (int q = 0; q < k; q++)
    {
        float w0 = b[b0 + q];
        float w1 = b[b1 + q];
        float w2 = b[b2 + q];
        float w3 = b[b3 + q];
        float x = a[a0 + q];
        s00 += x * w0;
        s01 += x * w1;
        s02 += x * w2;
        s03 += x * w3;
        x = a[a1 + q];
        s10 += x * w0;
        s11 += x * w1;
        s12 += x * w2;
        s13 += x * w3;
        x = a[a2 + q];
        s20 += x * w0;
        s21 += x * w1;
        s22 += x * w2;
        s23 += x * w3;
        x = a[a3 + q];
        s30 += x * w0;
        s31 += x * w1;
        s32 += x * w2;
        s33 += x * w3;
    }
    GemmKernels_StoreRow(c, m, n, row0, column0, s00, s01, s02, s03);
    GemmKernels_StoreRow(c, m, n, row0 + 1, column0, s10, s11, s12, s13);
    GemmKernels_StoreRow(c, m, n, row0 + 2, column0, s20, s21, s22, s23);
    GemmKernels_StoreRow(c, m, n, row0 + 3, column0, s30, s31, s32, s33);
}
