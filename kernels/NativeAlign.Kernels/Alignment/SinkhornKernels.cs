namespace NativeAlign.Kernels.Alignment;

/// <summary>Optimal transport between the subwords of sentence pairs, for word alignment.</summary>
public static partial class SinkhornKernels
{
    /// <summary>Work-items per sentence pair.</summary>
    public const int GroupSize = 64;

    /// <summary>The longest side (subwords per sentence) the kernel handles; its potentials live in local memory.</summary>
    public const int MaxLength = 256;

    /// <summary>
    /// Balanced entropic optimal transport with uniform marginals, solved in the log domain for a batch of cost
    /// matrices: <c>f ← ε(log a − LSE_j((g_j − C_ij)/ε))</c>, then <c>g ← ε(log b − LSE_i((f_i − C_ij)/ε))</c>,
    /// <paramref name="iterations"/> times from zero potentials; the plan is <c>P_ij = exp((f_i + g_j − C_ij)/ε)</c>.
    /// The log domain never forms exp(−C/ε) on its own, so small ε neither underflows nor produces subnormals.
    /// One work-group per pair: launch <c>batch · GroupSize</c> work-items. Sides are clamped to
    /// <see cref="MaxLength"/> and to the padded extents; cells outside a pair's extent get 0.
    /// </summary>
    /// <param name="costs">Costs, batch × maxRows × maxColumns (padded).</param>
    /// <param name="rowCounts">Rows (source subwords) of each pair.</param>
    /// <param name="columnCounts">Columns (target subwords) of each pair.</param>
    /// <param name="plan">Output transport plans, same layout as the costs.</param>
    /// <param name="batch">Number of pairs.</param>
    /// <param name="maxRows">Padded rows.</param>
    /// <param name="maxColumns">Padded columns.</param>
    /// <param name="epsilon">Entropic regularisation ε (> 0).</param>
    /// <param name="iterations">Sinkhorn iterations (each updates f then g).</param>
    [Kernel(LocalSizeX = GroupSize)]
    public static void SinkhornLog(
        ReadOnlyGlobalBuffer<float> costs, ReadOnlyGlobalBuffer<int> rowCounts, ReadOnlyGlobalBuffer<int> columnCounts, GlobalBuffer<float> plan,
        int batch, int maxRows, int maxColumns, float epsilon, int iterations)
    {
        LocalBuffer<float> f = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> g = LocalMemory.Allocate<float>(MaxLength);
        int pair = Math.Min(WorkItem.GroupId(0), batch - 1);
        int lane = WorkItem.LocalId(0);
        int rows = Math.Max(0, Math.Min(Math.Min(rowCounts[pair], maxRows), MaxLength));
        int columns = Math.Max(0, Math.Min(Math.Min(columnCounts[pair], maxColumns), MaxLength));
        int offset = pair * maxRows * maxColumns;
        float logA = -MathF.Log((float)Math.Max(rows, 1));
        float logB = -MathF.Log((float)Math.Max(columns, 1));
        for (int i = lane; i < MaxLength; i += GroupSize)
        {
            f[i] = 0f;
            g[i] = 0f;
        }

        WorkItem.Barrier();
        for (int iteration = 0; iteration < iterations; iteration++)
        {
            for (int i = lane; i < rows; i += GroupSize)
            {
                int rowOffset = offset + (i * maxColumns);
                float max = float.NegativeInfinity;
                for (int j = 0; j < columns; j++)
                {
                    max = MathF.Max(max, (g[j] - costs[rowOffset + j]) / epsilon);
                }

                float sum = 0f;
                for (int j = 0; j < columns; j++)
                {
                    sum += MathF.Exp(((g[j] - costs[rowOffset + j]) / epsilon) - max);
                }

                f[i] = epsilon * (logA - (max + MathF.Log(sum)));
            }

            WorkItem.Barrier();
            for (int j = lane; j < columns; j += GroupSize)
            {
                float max = float.NegativeInfinity;
                for (int i = 0; i < rows; i++)
                {
                    max = MathF.Max(max, (f[i] - costs[offset + (i * maxColumns) + j]) / epsilon);
                }

                float sum = 0f;
                for (int i = 0; i < rows; i++)
                {
                    sum += MathF.Exp(((f[i] - costs[offset + (i * maxColumns) + j]) / epsilon) - max);
                }

                g[j] = epsilon * (logB - (max + MathF.Log(sum)));
            }

            WorkItem.Barrier();
        }

        for (int cell = lane; cell < maxRows * maxColumns; cell += GroupSize)
        {
            int i = cell / maxColumns;
            int j = cell - (i * maxColumns);
            plan[offset + cell] = i < rows && j < columns ? MathF.Exp((f[i] + g[j] - costs[offset + cell]) / epsilon) : 0f;
        }
    }
}
