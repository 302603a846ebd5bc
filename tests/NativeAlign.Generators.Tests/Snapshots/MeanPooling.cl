// MeanPooling: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void MeanPooling(__global const float* x, __global const int* mask, __global float* pooled, int sentences, int sequence, int hidden)
{
    int h = (int)get_global_id(0);
    int s = (int)get_global_id(1);
    if (h < hidden && s < sentences)
    {
        float sum = 0.0f;
        int count = 0;
        for (int t = 0; t < sequence; t++)
        {
            if (mask[s * sequence + t] != 0)
            {
                sum += x[(s * sequence + t) * hidden + h];
                count++;
            }
        }
        pooled[s * hidden + h] = sum / (float)max(count, 1);
    }
}
