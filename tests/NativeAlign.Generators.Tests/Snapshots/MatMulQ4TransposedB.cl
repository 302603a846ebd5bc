// MatMulQ4TransposedB: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
int GemmKernels_ZeroPoint(__global const uchar* zeroPoints, int hasZeroPoints, int row, int blocksPerRow, int block)
{
    if (hasZeroPoints == 0)
    {
        return 8;
    }
    int zeroByte = (int)zeroPoints[row * ((blocksPerRow + 1) / 2) + (block >> 1)];
    return (block & 1) == 0 ? zeroByte & 15 : zeroByte >> 4;
}

float GemmKernels_WeightAt(__global const uchar* packed, __global const float* scales, __global const uchar* zeroPoints, int hasZeroPoints, int row, int q, int blocksPerRow, int blockSize)
{
    int block = q / blockSize;
    int within = q - block * blockSize;
    int packedByte = (int)packed[(row * blocksPerRow + block) * (blockSize / 2) + (within >> 1)];
    int nibble = (within & 1) == 0 ? packedByte & 15 : packedByte >> 4;
    return (float)(nibble - GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, row, blocksPerRow, block)) * scales[row * blocksPerRow + block];
}

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

__kernel void MatMulQ4TransposedB(__global const float* a, __global const uchar* packed, __global const float* scales, __global const uchar* zeroPoints, __global float* c, int m, int n, int k, int blockSize, int hasZeroPoints)
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
    int w0Row = column0;
    int w1Row = min(column0 + 1, n - 1);
    int w2Row = min(column0 + 2, n - 1);
    int w3Row = min(column0 + 3, n - 1);
    int blocksPerRow = (k + blockSize - 1) / blockSize;
    int half_ = blockSize / 2;
    float s00 = 0.0f, s01 = 0.0f, s02 = 0.0f, s03 = 0.0f;
    float s10 = 0.0f, s11 = 0.0f, s12 = 0.0f, s13 = 0.0f;
    float s20 = 0.0f, s21 = 0.0f, s22 = 0.0f, s23 = 0.0f;
    float s30 = 0.0f, s31 = 0.0f, s32 = 0.0f, s33 = 0.0f;
    for (int block = 0; block < blocksPerRow; block++)
    {
        float scale0 = scales[w0Row * blocksPerRow + block];
        float scale1 = scales[w1Row * blocksPerRow + block];
        float scale2 = scales[w2Row * blocksPerRow + block];
        float scale3 = scales[w3Row * blocksPerRow + block];
        int zero0 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w0Row, blocksPerRow, block);
        int zero1 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w1Row, blocksPerRow, block);
        int zero2 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w2Row, blocksPerRow, block);
        int zero3 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w3Row, blocksPerRow, block);
        int p0 = (w0Row * blocksPerRow + block) * half_;
        int p1 = (w1Row * blocksPerRow + block) * half_;
        int p2 = (w2Row * blocksPerRow + block) * half_;
        int p3 = (w3Row * blocksPerRow + block) * half_;
        int inner = block * blockSize;
        int pairs = min(half_, (k - inner) / 2);
        for (int p = 0; p < pairs; p++)
        {
            int q = inner + 2 * p;
            int byte0 = (int)packed[p0 + p];
            int byte1 = (int)packed[p1 + p];
            int byte2 = (int)packed[p2 + p];
            int byte3 = (int)packed[p3 + p];
            float lo0 = (float)((byte0 & 15) - zero0) * scale0;
            float lo1 = (float)((byte1 & 15) - zero1) * scale1;
            float lo2 = (float)((byte2 & 15) - zero2) * scale2;
            float lo3 = (float)((byte3 & 15) - zero3) * scale3;
            float hi0 = (float)((byte0 >> 4) - zero0) * scale0;
            float hi1 = (float)((byte1 >> 4) - zero1) * scale1;
            float hi2 = (float)((byte2 >> 4) - zero2) * scale2;
            float hi3 = (float)((byte3 >> 4) - zero3) * scale3;
            float x = a[a0 + q];
            float y = a[a0 + q + 1];
            s00 += x * lo0 + y * hi0;
            s01 += x * lo1 + y * hi1;
            s02 += x * lo2 + y * hi2;
            s03 += x * lo3 + y * hi3;
            x = a[a1 + q];
            y = a[a1 + q + 1];
            s10 += x * lo0 + y * hi0;
            s11 += x * lo1 + y * hi1;
            s12 += x * lo2 + y * hi2;
            s13 += x * lo3 + y * hi3;
            x = a[a2 + q];
            y = a[a2 + q + 1];
            s20 += x * lo0 + y * hi0;
            s21 += x * lo1 + y * hi1;
            s22 += x * lo2 + y * hi2;
            s23 += x * lo3 + y * hi3;
            x = a[a3 + q];
            y = a[a3 + q + 1];
            s30 += x * lo0 + y * hi0;
            s31 += x * lo1 + y * hi1;
            s32 += x * lo2 + y * hi2;
            s33 += x * lo3 + y * hi3;
        }
    }
    if ((k & 1) != 0)
    {
        int last = k - 1;
        float w0 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w0Row, last, blocksPerRow, blockSize);
        float w1 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w1Row, last, blocksPerRow, blockSize);
        float w2 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w2Row, last, blocksPerRow, blockSize);
        float w3 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w3Row, last, blocksPerRow, blockSize);
        float x = a[a0 + last];
        s00 += x * w0;
        s01 += x * w1;
        s02 += x * w2;
        s03 += x * w3;
        x = a[a1 + last];
        s10 += x * w0;
        s11 += x * w1;
        s12 += x * w2;
        s13 += x * w3;
        x = a[a2 + last];
        s20 += x * w0;
        s21 += x * w1;
        s22 += x * w2;
        s23 += x * w3;
        x = a[a3 + last];
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

// MatMulQ4TransposedB with blockSize = 32
__kernel void MatMulQ4TransposedB_blockSize32(__global const float* a, __global const uchar* packed, __global const float* scales, __global const uchar* zeroPoints, __global float* c, int m, int n, int k, int blockSize, int hasZeroPoints)
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
    int w0Row = column0;
    int w1Row = min(column0 + 1, n - 1);
    int w2Row = min(column0 + 2, n - 1);
    int w3Row = min(column0 + 3, n - 1);
    int blocksPerRow = (k + 32 - 1) / 32;
    int half_ = 32 / 2;
    float s00 = 0.0f, s01 = 0.0f, s02 = 0.0f, s03 = 0.0f;
    float s10 = 0.0f, s11 = 0.0f, s12 = 0.0f, s13 = 0.0f;
    float s20 = 0.0f, s21 = 0.0f, s22 = 0.0f, s23 = 0.0f;
    float s30 = 0.0f, s31 = 0.0f, s32 = 0.0f, s33 = 0.0f;
    for (int block = 0; block < blocksPerRow; block++)
    {
        float scale0 = scales[w0Row * blocksPerRow + block];
        float scale1 = scales[w1Row * blocksPerRow + block];
        float scale2 = scales[w2Row * blocksPerRow + block];
        float scale3 = scales[w3Row * blocksPerRow + block];
        int zero0 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w0Row, blocksPerRow, block);
        int zero1 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w1Row, blocksPerRow, block);
        int zero2 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w2Row, blocksPerRow, block);
        int zero3 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w3Row, blocksPerRow, block);
        int p0 = (w0Row * blocksPerRow + block) * half_;
        int p1 = (w1Row * blocksPerRow + block) * half_;
        int p2 = (w2Row * blocksPerRow + block) * half_;
        int p3 = (w3Row * blocksPerRow + block) * half_;
        int inner = block * 32;
        int pairs = min(half_, (k - inner) / 2);
        for (int p = 0; p < pairs; p++)
        {
            int q = inner + 2 * p;
            int byte0 = (int)packed[p0 + p];
            int byte1 = (int)packed[p1 + p];
            int byte2 = (int)packed[p2 + p];
            int byte3 = (int)packed[p3 + p];
            float lo0 = (float)((byte0 & 15) - zero0) * scale0;
            float lo1 = (float)((byte1 & 15) - zero1) * scale1;
            float lo2 = (float)((byte2 & 15) - zero2) * scale2;
            float lo3 = (float)((byte3 & 15) - zero3) * scale3;
            float hi0 = (float)((byte0 >> 4) - zero0) * scale0;
            float hi1 = (float)((byte1 >> 4) - zero1) * scale1;
            float hi2 = (float)((byte2 >> 4) - zero2) * scale2;
            float hi3 = (float)((byte3 >> 4) - zero3) * scale3;
            float x = a[a0 + q];
            float y = a[a0 + q + 1];
            s00 += x * lo0 + y * hi0;
            s01 += x * lo1 + y * hi1;
            s02 += x * lo2 + y * hi2;
            s03 += x * lo3 + y * hi3;
            x = a[a1 + q];
            y = a[a1 + q + 1];
            s10 += x * lo0 + y * hi0;
            s11 += x * lo1 + y * hi1;
            s12 += x * lo2 + y * hi2;
            s13 += x * lo3 + y * hi3;
            x = a[a2 + q];
            y = a[a2 + q + 1];
            s20 += x * lo0 + y * hi0;
            s21 += x * lo1 + y * hi1;
            s22 += x * lo2 + y * hi2;
            s23 += x * lo3 + y * hi3;
            x = a[a3 + q];
            y = a[a3 + q + 1];
            s30 += x * lo0 + y * hi0;
            s31 += x * lo1 + y * hi1;
            s32 += x * lo2 + y * hi2;
            s33 += x * lo3 + y * hi3;
        }
    }
    if ((k & 1) != 0)
    {
        int last = k - 1;
        float w0 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w0Row, last, blocksPerRow, 32);
        float w1 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w1Row, last, blocksPerRow, 32);
        float w2 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w2Row, last, blocksPerRow, 32);
        float w3 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w3Row, last, blocksPerRow, 32);
        float x = a[a0 + last];
        s00 += x * w0;
        s01 += x * w1;
        s02 += x * w2;
        s03 += x * w3;
        x = a[a1 + last];
        s10 += x * w0;
        s11 += x * w1;
        s12 += x * w2;
        s13 += x * w3;
        x = a[a2 + last];
        s20 += x * w0;
        s21 += x * w1;
        s22 += x * w2;
        s23 += x * w3;
        x = a[a3 + last];
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

// MatMulQ4TransposedB with blockSize = 64
__kernel void MatMulQ4TransposedB_blockSize64(__global const float* a, __global const uchar* packed, __global const float* scales, __global const uchar* zeroPoints, __global float* c, int m, int n, int k, int blockSize, int hasZeroPoints)
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
    int w0Row = column0;
    int w1Row = min(column0 + 1, n - 1);
    int w2Row = min(column0 + 2, n - 1);
    int w3Row = min(column0 + 3, n - 1);
    int blocksPerRow = (k + 64 - 1) / 64;
    int half_ = 64 / 2;
    float s00 = 0.0f, s01 = 0.0f, s02 = 0.0f, s03 = 0.0f;
    float s10 = 0.0f, s11 = 0.0f, s12 = 0.0f, s13 = 0.0f;
    float s20 = 0.0f, s21 = 0.0f, s22 = 0.0f, s23 = 0.0f;
    float s30 = 0.0f, s31 = 0.0f, s32 = 0.0f, s33 = 0.0f;
    for (int block = 0; block < blocksPerRow; block++)
    {
        float scale0 = scales[w0Row * blocksPerRow + block];
        float scale1 = scales[w1Row * blocksPerRow + block];
        float scale2 = scales[w2Row * blocksPerRow + block];
        float scale3 = scales[w3Row * blocksPerRow + block];
        int zero0 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w0Row, blocksPerRow, block);
        int zero1 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w1Row, blocksPerRow, block);
        int zero2 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w2Row, blocksPerRow, block);
        int zero3 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w3Row, blocksPerRow, block);
        int p0 = (w0Row * blocksPerRow + block) * half_;
        int p1 = (w1Row * blocksPerRow + block) * half_;
        int p2 = (w2Row * blocksPerRow + block) * half_;
        int p3 = (w3Row * blocksPerRow + block) * half_;
        int inner = block * 64;
        int pairs = min(half_, (k - inner) / 2);
        for (int p = 0; p < pairs; p++)
        {
            int q = inner + 2 * p;
            int byte0 = (int)packed[p0 + p];
            int byte1 = (int)packed[p1 + p];
            int byte2 = (int)packed[p2 + p];
            int byte3 = (int)packed[p3 + p];
            float lo0 = (float)((byte0 & 15) - zero0) * scale0;
            float lo1 = (float)((byte1 & 15) - zero1) * scale1;
            float lo2 = (float)((byte2 & 15) - zero2) * scale2;
            float lo3 = (float)((byte3 & 15) - zero3) * scale3;
            float hi0 = (float)((byte0 >> 4) - zero0) * scale0;
            float hi1 = (float)((byte1 >> 4) - zero1) * scale1;
            float hi2 = (float)((byte2 >> 4) - zero2) * scale2;
            float hi3 = (float)((byte3 >> 4) - zero3) * scale3;
            float x = a[a0 + q];
            float y = a[a0 + q + 1];
            s00 += x * lo0 + y * hi0;
            s01 += x * lo1 + y * hi1;
            s02 += x * lo2 + y * hi2;
            s03 += x * lo3 + y * hi3;
            x = a[a1 + q];
            y = a[a1 + q + 1];
            s10 += x * lo0 + y * hi0;
            s11 += x * lo1 + y * hi1;
            s12 += x * lo2 + y * hi2;
            s13 += x * lo3 + y * hi3;
            x = a[a2 + q];
            y = a[a2 + q + 1];
            s20 += x * lo0 + y * hi0;
            s21 += x * lo1 + y * hi1;
            s22 += x * lo2 + y * hi2;
            s23 += x * lo3 + y * hi3;
            x = a[a3 + q];
            y = a[a3 + q + 1];
            s30 += x * lo0 + y * hi0;
            s31 += x * lo1 + y * hi1;
            s32 += x * lo2 + y * hi2;
            s33 += x * lo3 + y * hi3;
        }
    }
    if ((k & 1) != 0)
    {
        int last = k - 1;
        float w0 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w0Row, last, blocksPerRow, 64);
        float w1 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w1Row, last, blocksPerRow, 64);
        float w2 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w2Row, last, blocksPerRow, 64);
        float w3 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w3Row, last, blocksPerRow, 64);
        float x = a[a0 + last];
        s00 += x * w0;
        s01 += x * w1;
        s02 += x * w2;
        s03 += x * w3;
        x = a[a1 + last];
        s10 += x * w0;
        s11 += x * w1;
        s12 += x * w2;
        s13 += x * w3;
        x = a[a2 + last];
        s20 += x * w0;
        s21 += x * w1;
        s22 += x * w2;
        s23 += x * w3;
        x = a[a3 + last];
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

// MatMulQ4TransposedB with blockSize = 128
__kernel void MatMulQ4TransposedB_blockSize128(__global const float* a, __global const uchar* packed, __global const float* scales, __global const uchar* zeroPoints, __global float* c, int m, int n, int k, int blockSize, int hasZeroPoints)
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
    int w0Row = column0;
    int w1Row = min(column0 + 1, n - 1);
    int w2Row = min(column0 + 2, n - 1);
    int w3Row = min(column0 + 3, n - 1);
    int blocksPerRow = (k + 128 - 1) / 128;
    int half_ = 128 / 2;
    float s00 = 0.0f, s01 = 0.0f, s02 = 0.0f, s03 = 0.0f;
    float s10 = 0.0f, s11 = 0.0f, s12 = 0.0f, s13 = 0.0f;
    float s20 = 0.0f, s21 = 0.0f, s22 = 0.0f, s23 = 0.0f;
    float s30 = 0.0f, s31 = 0.0f, s32 = 0.0f, s33 = 0.0f;
    for (int block = 0; block < blocksPerRow; block++)
    {
        float scale0 = scales[w0Row * blocksPerRow + block];
        float scale1 = scales[w1Row * blocksPerRow + block];
        float scale2 = scales[w2Row * blocksPerRow + block];
        float scale3 = scales[w3Row * blocksPerRow + block];
        int zero0 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w0Row, blocksPerRow, block);
        int zero1 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w1Row, blocksPerRow, block);
        int zero2 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w2Row, blocksPerRow, block);
        int zero3 = GemmKernels_ZeroPoint(zeroPoints, hasZeroPoints, w3Row, blocksPerRow, block);
        int p0 = (w0Row * blocksPerRow + block) * half_;
        int p1 = (w1Row * blocksPerRow + block) * half_;
        int p2 = (w2Row * blocksPerRow + block) * half_;
        int p3 = (w3Row * blocksPerRow + block) * half_;
        int inner = block * 128;
        int pairs = min(half_, (k - inner) / 2);
        for (int p = 0; p < pairs; p++)
        {
            int q = inner + 2 * p;
            int byte0 = (int)packed[p0 + p];
            int byte1 = (int)packed[p1 + p];
            int byte2 = (int)packed[p2 + p];
            int byte3 = (int)packed[p3 + p];
            float lo0 = (float)((byte0 & 15) - zero0) * scale0;
            float lo1 = (float)((byte1 & 15) - zero1) * scale1;
            float lo2 = (float)((byte2 & 15) - zero2) * scale2;
            float lo3 = (float)((byte3 & 15) - zero3) * scale3;
            float hi0 = (float)((byte0 >> 4) - zero0) * scale0;
            float hi1 = (float)((byte1 >> 4) - zero1) * scale1;
            float hi2 = (float)((byte2 >> 4) - zero2) * scale2;
            float hi3 = (float)((byte3 >> 4) - zero3) * scale3;
            float x = a[a0 + q];
            float y = a[a0 + q + 1];
            s00 += x * lo0 + y * hi0;
            s01 += x * lo1 + y * hi1;
            s02 += x * lo2 + y * hi2;
            s03 += x * lo3 + y * hi3;
            x = a[a1 + q];
            y = a[a1 + q + 1];
            s10 += x * lo0 + y * hi0;
            s11 += x * lo1 + y * hi1;
            s12 += x * lo2 + y * hi2;
            s13 += x * lo3 + y * hi3;
            x = a[a2 + q];
            y = a[a2 + q + 1];
            s20 += x * lo0 + y * hi0;
            s21 += x * lo1 + y * hi1;
            s22 += x * lo2 + y * hi2;
            s23 += x * lo3 + y * hi3;
            x = a[a3 + q];
            y = a[a3 + q + 1];
            s30 += x * lo0 + y * hi0;
            s31 += x * lo1 + y * hi1;
            s32 += x * lo2 + y * hi2;
            s33 += x * lo3 + y * hi3;
        }
    }
    if ((k & 1) != 0)
    {
        int last = k - 1;
        float w0 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w0Row, last, blocksPerRow, 128);
        float w1 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w1Row, last, blocksPerRow, 128);
        float w2 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w2Row, last, blocksPerRow, 128);
        float w3 = GemmKernels_WeightAt(packed, scales, zeroPoints, hasZeroPoints, w3Row, last, blocksPerRow, 128);
        float x = a[a0 + last];
        s00 += x * w0;
        s01 += x * w1;
        s02 += x * w2;
        s03 += x * w3;
        x = a[a1 + last];
        s10 += x * w0;
        s11 += x * w1;
        s12 += x * w2;
        s13 += x * w3;
        x = a[a2 + last];
        s20 += x * w0;
        s21 += x * w1;
        s22 += x * w2;
        s23 += x * w3;
        x = a[a3 + last];
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
