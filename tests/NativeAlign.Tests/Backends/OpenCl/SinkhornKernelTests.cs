using NativeAlign.Kernels;
using NativeAlign.Kernels.Alignment;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>
/// Batched log-domain Sinkhorn on the OpenCL device against the same iteration carried out in float64 (bound 1e-7
/// normalised MSE on the plans), and the transport constraint: after the final g update every column of a plan sums
/// to 1/m exactly up to rounding.
/// </summary>
[TestFixture]
public sealed class SinkhornKernelTests
{
    [TestCase(0.1f, 50)]
    [TestCase(0.02f, 200)]
    public void SinkhornLog_Device_MatchesFloat64Iteration(float epsilon, int iterations)
    {
        int[] rowCounts = [5, 12, 1, 70];
        int[] columnCounts = [7, 9, 4, 66];
        int batch = rowCounts.Length, maxRows = 70, maxColumns = 66;
        var random = new Random(iterations);
        var costs = new float[batch * maxRows * maxColumns];
        for (int i = 0; i < costs.Length; i++)
        {
            costs[i] = (float)random.NextDouble(); // 1 − cosine similarity lives in [0, 2]; [0, 1) here
        }

        var oracle = new double[costs.Length];
        for (int b = 0; b < batch; b++)
        {
            Solve(costs, b * maxRows * maxColumns, rowCounts[b], columnCounts[b], maxColumns, epsilon, iterations, oracle);
        }

        using var device = OpenClTestDevice.Open();
        using var dCosts = device.Context.Upload<float>(costs);
        using var dRows = device.Context.Upload<int>(rowCounts);
        using var dColumns = device.Context.Upload<int>(columnCounts);
        using var dPlan = device.Context.Upload<float>(Enumerable.Repeat(float.NaN, costs.Length).ToArray());
        device.Context.Run(
            new SinkhornKernels.SinkhornLogKernel(dCosts, dRows, dColumns, dPlan, batch, maxRows, maxColumns, epsilon, iterations),
            new NDRange(batch * SinkhornKernels.GroupSize));
        var plan = dPlan.ToArray();
        ErrorMetrics.AssertClose(plan, oracle, 1e-7, "device plans");

        for (int b = 0; b < batch; b++)
        {
            for (int j = 0; j < columnCounts[b]; j++)
            {
                double column = 0;
                for (int i = 0; i < rowCounts[b]; i++)
                {
                    column += plan[(b * maxRows * maxColumns) + (i * maxColumns) + j];
                }

                Assert.That(column, Is.EqualTo(1.0 / columnCounts[b]).Within(1e-4 / columnCounts[b]), $"pair {b}, column {j} marginal");
            }
        }
    }

    private static void Solve(float[] costs, int offset, int rows, int columns, int maxColumns, double epsilon, int iterations, double[] plan)
    {
        var f = new double[rows];
        var g = new double[columns];
        double C(int i, int j) => costs[offset + (i * maxColumns) + j];
        for (int iteration = 0; iteration < iterations; iteration++)
        {
            for (int i = 0; i < rows; i++)
            {
                f[i] = epsilon * (-Math.Log(rows) - LogSumExp(columns, j => (g[j] - C(i, j)) / epsilon));
            }

            for (int j = 0; j < columns; j++)
            {
                g[j] = epsilon * (-Math.Log(columns) - LogSumExp(rows, i => (f[i] - C(i, j)) / epsilon));
            }
        }

        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                plan[offset + (i * maxColumns) + j] = Math.Exp((f[i] + g[j] - C(i, j)) / epsilon);
            }
        }
    }

    private static double LogSumExp(int count, Func<int, double> term)
    {
        double max = double.NegativeInfinity;
        for (int t = 0; t < count; t++)
        {
            max = Math.Max(max, term(t));
        }

        double sum = 0;
        for (int t = 0; t < count; t++)
        {
            sum += Math.Exp(term(t) - max);
        }

        return max + Math.Log(sum);
    }
}
