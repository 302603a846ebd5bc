// MatMulTransposedB: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void MatMulTransposedB(__global const float* a, __global const float* b, __global float* c, int m, int n, int k)
{
    __local float tileA[256];
    __local float tileB[256];
    int column = (int)get_global_id(0);
    int row = (int)get_global_id(1);
    int localColumn = (int)get_local_id(0);
    int localRow = (int)get_local_id(1);
    int bRow = (int)get_group_id(0) * 16 + localRow;
    float sum = 0.0f;
    for (int start = 0; start < k; start += 16)
    {
        int inner = start + localColumn;
        tileA[localRow * 16 + localColumn] = row < m && inner < k ? a[row * k + inner] : 0.0f;
        tileB[localRow * 16 + localColumn] = bRow < n && inner < k ? b[bRow * k + inner] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int q = 0; q < 16; q++)
        {
            sum += tileA[localRow * 16 + q] * tileB[localColumn * 16 + q];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (row < m && column < n)
    {
        c[row * n + column] = sum;
    }
}
