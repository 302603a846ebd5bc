// SwitchProbe: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void SwitchProbe(__global const int* input, __global int* output, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n)
    {
        return;
    }
    int x = input[i];
    int acc = 0;
    for (int k = 0; k < 5; k++)
    {
        switch ((x + k) % 5)
        {
            case 0:
            {
                acc += 1;
                break;
            }
            case 1:
            case -1:
            {
                acc *= 3;
                continue;
            }
            case 3:
            {
                int t = x * 7;
                acc -= t + k;
                break;
            }
            case -4:
            {
                if (k == 4)
                {
                    output[i] = -acc;
                    return;
                }
                break;
            }
            default:
            {
                acc ^= x;
                break;
            }
        }
        acc += 10;
    }
    switch ((int)(x & 3))
    {
        case 1:
        {
            acc *= 2;
            break;
        }
        case 2:
        {
            acc = -acc;
            break;
        }
        default:
        {
            break;
        }
    }
    output[i] = acc;
}
