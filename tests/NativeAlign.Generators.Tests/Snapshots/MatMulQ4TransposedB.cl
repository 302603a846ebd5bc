// MatMulQ4TransposedB: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void MatMulQ4TransposedB(__global const float* a, __global const uchar* packed, __global const float* scales, __global const uchar* zeroPoints, __global float* c, int m, int n, int k, int blockSize, int hasZeroPoints)
{
    __local float tileA[256];
    __local float tileB[256];
    int column = (int)get_global_id(0);
    int row = (int)get_global_id(1);
    int localColumn = (int)get_local_id(0);
    int localRow = (int)get_local_id(1);
    int bRow = (int)get_group_id(0) * 16 + localRow;
    int blocksPerRow = (k + blockSize - 1) / blockSize;
    float sum = 0.0f;
    for (int start = 0; start < k; start += 16)
    {
        int inner = start + localColumn;
        tileA[localRow * 16 + localColumn] = row < m && inner < k ? a[row * k + inner] : 0.0f;
        float weight = 0.0f;
        if (bRow < n && inner < k)
        {
            int block = inner / blockSize;
            int within = inner - block * blockSize;
            int packedByte = (int)packed[(bRow * blocksPerRow + block) * (blockSize / 2) + (within >> 1)];
            int nibble = (within & 1) == 0 ? packedByte & 15 : packedByte >> 4;
            int zero = 8;
            if (hasZeroPoints != 0)
            {
                int zeroByte = (int)zeroPoints[bRow * ((blocksPerRow + 1) / 2) + (block >> 1)];
                zero = (block & 1) == 0 ? zeroByte & 15 : zeroByte >> 4;
            }
            weight = (float)(nibble - zero) * scales[bRow * blocksPerRow + block];
        }
        tileB[localRow * 16 + localColumn] = weight;
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

// MatMulQ4TransposedB with blockSize = 32
__kernel void MatMulQ4TransposedB_blockSize32(__global const float* a, __global const uchar* packed, __global const float* scales, __global const uchar* zeroPoints, __global float* c, int m, int n, int k, int blockSize, int hasZeroPoints)
{
    __local float tileA[256];
    __local float tileB[256];
    int column = (int)get_global_id(0);
    int row = (int)get_global_id(1);
    int localColumn = (int)get_local_id(0);
    int localRow = (int)get_local_id(1);
    int bRow = (int)get_group_id(0) * 16 + localRow;
    int blocksPerRow = (k + 32 - 1) / 32;
    float sum = 0.0f;
    for (int start = 0; start < k; start += 16)
    {
        int inner = start + localColumn;
        tileA[localRow * 16 + localColumn] = row < m && inner < k ? a[row * k + inner] : 0.0f;
        float weight = 0.0f;
        if (bRow < n && inner < k)
        {
            int block = inner / 32;
            int within = inner - block * 32;
            int packedByte = (int)packed[(bRow * blocksPerRow + block) * (32 / 2) + (within >> 1)];
            int nibble = (within & 1) == 0 ? packedByte & 15 : packedByte >> 4;
            int zero = 8;
            if (hasZeroPoints != 0)
            {
                int zeroByte = (int)zeroPoints[bRow * ((blocksPerRow + 1) / 2) + (block >> 1)];
                zero = (block & 1) == 0 ? zeroByte & 15 : zeroByte >> 4;
            }
            weight = (float)(nibble - zero) * scales[bRow * blocksPerRow + block];
        }
        tileB[localRow * 16 + localColumn] = weight;
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

// MatMulQ4TransposedB with blockSize = 64
__kernel void MatMulQ4TransposedB_blockSize64(__global const float* a, __global const uchar* packed, __global const float* scales, __global const uchar* zeroPoints, __global float* c, int m, int n, int k, int blockSize, int hasZeroPoints)
{
    __local float tileA[256];
    __local float tileB[256];
    int column = (int)get_global_id(0);
    int row = (int)get_global_id(1);
    int localColumn = (int)get_local_id(0);
    int localRow = (int)get_local_id(1);
    int bRow = (int)get_group_id(0) * 16 + localRow;
    int blocksPerRow = (k + 64 - 1) / 64;
    float sum = 0.0f;
    for (int start = 0; start < k; start += 16)
    {
        int inner = start + localColumn;
        tileA[localRow * 16 + localColumn] = row < m && inner < k ? a[row * k + inner] : 0.0f;
        float weight = 0.0f;
        if (bRow < n && inner < k)
        {
            int block = inner / 64;
            int within = inner - block * 64;
            int packedByte = (int)packed[(bRow * blocksPerRow + block) * (64 / 2) + (within >> 1)];
            int nibble = (within & 1) == 0 ? packedByte & 15 : packedByte >> 4;
            int zero = 8;
            if (hasZeroPoints != 0)
            {
                int zeroByte = (int)zeroPoints[bRow * ((blocksPerRow + 1) / 2) + (block >> 1)];
                zero = (block & 1) == 0 ? zeroByte & 15 : zeroByte >> 4;
            }
            weight = (float)(nibble - zero) * scales[bRow * blocksPerRow + block];
        }
        tileB[localRow * 16 + localColumn] = weight;
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

// MatMulQ4TransposedB with blockSize = 128
__kernel void MatMulQ4TransposedB_blockSize128(__global const float* a, __global const uchar* packed, __global const float* scales, __global const uchar* zeroPoints, __global float* c, int m, int n, int k, int blockSize, int hasZeroPoints)
{
    __local float tileA[256];
    __local float tileB[256];
    int column = (int)get_global_id(0);
    int row = (int)get_global_id(1);
    int localColumn = (int)get_local_id(0);
    int localRow = (int)get_local_id(1);
    int bRow = (int)get_group_id(0) * 16 + localRow;
    int blocksPerRow = (k + 128 - 1) / 128;
    float sum = 0.0f;
    for (int start = 0; start < k; start += 16)
    {
        int inner = start + localColumn;
        tileA[localRow * 16 + localColumn] = row < m && inner < k ? a[row * k + inner] : 0.0f;
        float weight = 0.0f;
        if (bRow < n && inner < k)
        {
            int block = inner / 128;
            int within = inner - block * 128;
            int packedByte = (int)packed[(bRow * blocksPerRow + block) * (128 / 2) + (within >> 1)];
            int nibble = (within & 1) == 0 ? packedByte & 15 : packedByte >> 4;
            int zero = 8;
            if (hasZeroPoints != 0)
            {
                int zeroByte = (int)zeroPoints[bRow * ((blocksPerRow + 1) / 2) + (block >> 1)];
                zero = (block & 1) == 0 ? zeroByte & 15 : zeroByte >> 4;
            }
            weight = (float)(nibble - zero) * scales[bRow * blocksPerRow + block];
        }
        tileB[localRow * 16 + localColumn] = weight;
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
