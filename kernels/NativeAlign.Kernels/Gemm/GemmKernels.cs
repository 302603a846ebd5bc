namespace NativeAlign.Kernels.Gemm;

/// <summary>Matrix products on the device.</summary>
public static partial class GemmKernels
{
    /// <summary>Edge of the square tiles staged in local memory; also the work-group edge.</summary>
    public const int Tile = 16;

    /// <summary>
    /// <c>c = a · bᵀ</c> for row-major <c>a</c> [m, k], <c>b</c> [n, k] (linear-layer weights are stored [out, in])
    /// and <c>c</c> [m, n]. Launch a 2-D range of (n, m) work-items, one per output element, in Tile × Tile groups;
    /// each group stages a Tile × Tile block of <c>a</c> and of <c>b</c> in local memory per step along k, so every
    /// global element is read k/Tile times fewer than in the naive product.
    /// </summary>
    /// <param name="a">Left operand, m × k.</param>
    /// <param name="b">Right operand, n × k (used transposed).</param>
    /// <param name="c">Result, m × n.</param>
    /// <param name="m">Rows of a and c.</param>
    /// <param name="n">Rows of b, columns of c.</param>
    /// <param name="k">The shared (inner) dimension.</param>
    [Kernel(LocalSizeX = Tile, LocalSizeY = Tile)]
    public static void MatMulTransposedB(
        ReadOnlyGlobalBuffer<float> a, ReadOnlyGlobalBuffer<float> b, GlobalBuffer<float> c, int m, int n, int k)
    {
        LocalBuffer<float> tileA = LocalMemory.Allocate<float>(Tile * Tile);
        LocalBuffer<float> tileB = LocalMemory.Allocate<float>(Tile * Tile);
        int column = WorkItem.GlobalId(0);
        int row = WorkItem.GlobalId(1);
        int localColumn = WorkItem.LocalId(0);
        int localRow = WorkItem.LocalId(1);

        // The b rows this group needs are the group's output columns; work-item (localRow, localColumn) loads
        // element localColumn of b row (first column + localRow), so loads along k stay contiguous for both operands.
        int bRow = (WorkItem.GroupId(0) * Tile) + localRow;
        float sum = 0f;
        for (int start = 0; start < k; start += Tile)
        {
            int inner = start + localColumn;
            tileA[(localRow * Tile) + localColumn] = row < m && inner < k ? a[(row * k) + inner] : 0f;
            tileB[(localRow * Tile) + localColumn] = bRow < n && inner < k ? b[(bRow * k) + inner] : 0f;
            WorkItem.Barrier();
            for (int q = 0; q < Tile; q++)
            {
                sum += tileA[(localRow * Tile) + q] * tileB[(localColumn * Tile) + q];
            }

            WorkItem.Barrier();
        }

        if (row < m && column < n)
        {
            c[(row * n) + column] = sum;
        }
    }
}
