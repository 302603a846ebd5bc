using NativeAlign.Kernels;
using NativeAlign.Kernels.Attention;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>
/// Fused attention on the OpenCL device against the textbook float64 computation (full score matrix, softmax over
/// the unmasked keys), bound 5e-4 normalised MSE. Shapes cover the specialised head dimensions and a generic one,
/// short and long (200-token) sequences, padding (whose query rows must be zeros), and a sentence with no
/// token at all.
/// </summary>
[TestFixture]
public sealed class AttentionKernelTests
{
    [TestCase(1, 1, 1, 32, "Attention_headDim32")]
    [TestCase(2, 37, 3, 32, "Attention_headDim32")]
    [TestCase(2, 20, 2, 64, "Attention_headDim64")]
    [TestCase(1, 9, 1, 128, "Attention_headDim128")]
    [TestCase(3, 200, 2, 48, "Attention")]
    public void Attention_Device_MatchesFloat64Oracle(int batch, int sequence, int heads, int headDim, string entryPoint)
    {
        var random = new Random((batch * 1000) + sequence + headDim);
        int hidden = heads * headDim;
        float[] Tensor() => Enumerable.Range(0, batch * sequence * hidden).Select(_ => (float)((random.NextDouble() - 0.5) * 4)).ToArray();
        var q = Tensor();
        var k = Tensor();
        var v = Tensor();

        // Sentence b has sequence - 3b tokens (at least 1), except the third, which is all padding.
        var mask = new int[batch * sequence];
        for (int b = 0; b < batch; b++)
        {
            int length = b == 2 ? 0 : Math.Max(1, sequence - (3 * b));
            for (int t = 0; t < length; t++)
            {
                mask[(b * sequence) + t] = 1;
            }
        }

        var oracle = Oracle(q, k, v, mask, batch, sequence, heads, headDim);

        using var device = OpenClTestDevice.Open();
        var context = device.Context;
        using var dq = context.Upload<float>(q);
        using var dk = context.Upload<float>(k);
        using var dv = context.Upload<float>(v);
        using var dMask = context.Upload<int>(mask);
        using var dOut = context.Allocate<float>(q.Length);
        var kernel = new AttentionKernels.AttentionKernel(dq, dk, dv, dMask, dOut, sequence, heads, headDim);
        Assert.That(AttentionKernels.AttentionKernel.SelectEntryPoint(kernel), Is.EqualTo(entryPoint));
        context.Run(kernel, new NDRange(sequence, batch * heads));
        ErrorMetrics.AssertClose(dOut.ToArray(), oracle, 5e-4, "device");
    }

    private static double[] Oracle(float[] q, float[] k, float[] v, int[] mask, int batch, int sequence, int heads, int headDim)
    {
        int hidden = heads * headDim;
        var output = new double[q.Length];
        var scores = new double[sequence];
        for (int b = 0; b < batch; b++)
        {
            for (int h = 0; h < heads; h++)
            {
                for (int i = 0; i < sequence; i++)
                {
                    if (mask[(b * sequence) + i] == 0)
                    {
                        continue; // a padding query: zeros, as the kernel documents
                    }

                    double max = double.NegativeInfinity;
                    for (int j = 0; j < sequence; j++)
                    {
                        scores[j] = double.NegativeInfinity;
                        if (mask[(b * sequence) + j] == 0)
                        {
                            continue;
                        }

                        double dot = 0;
                        for (int d = 0; d < headDim; d++)
                        {
                            dot += (double)q[(((b * sequence) + i) * hidden) + (h * headDim) + d] * k[(((b * sequence) + j) * hidden) + (h * headDim) + d];
                        }

                        scores[j] = dot / Math.Sqrt(headDim);
                        max = Math.Max(max, scores[j]);
                    }

                    if (double.IsNegativeInfinity(max))
                    {
                        continue; // no key: zeros, as the kernel documents
                    }

                    double sum = 0;
                    for (int j = 0; j < sequence; j++)
                    {
                        sum += Math.Exp(scores[j] - max);
                    }

                    for (int j = 0; j < sequence; j++)
                    {
                        double p = Math.Exp(scores[j] - max) / sum;
                        for (int d = 0; d < headDim; d++)
                        {
                            output[(((b * sequence) + i) * hidden) + (h * headDim) + d] += p * v[(((b * sequence) + j) * hidden) + (h * headDim) + d];
                        }
                    }
                }
            }
        }

        return output;
    }
}
