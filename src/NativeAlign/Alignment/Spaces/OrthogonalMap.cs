namespace NativeAlign.Alignment.Spaces;

/// <summary>
/// An orthogonal linear map W (dim×dim) from one embedding space to another, fitted by orthogonal Procrustes
/// (Schönemann 1966; Xing et al. 2015; Smith et al. 2017): W = argmin ‖XW − Y‖_F over orthogonal W, which is
/// W = U·Vᵀ for the SVD XᵀY = U·Σ·Vᵀ. Rows of X and Y are paired vectors (dictionary pairs, parallel sentences).
/// </summary>
public sealed class OrthogonalMap
{
    private OrthogonalMap(int dim, double[] w)
    {
        Dim = dim;
        Weights = w;
    }

    /// <summary>Dimension of both spaces.</summary>
    public int Dim { get; }

    /// <summary>W, row-major dim×dim; a row vector x maps to x·W.</summary>
    public double[] Weights { get; }

    /// <summary>Fits W on <paramref name="count"/> pairs of rows of <paramref name="x"/> and <paramref name="y"/> [count×dim].</summary>
    public static OrthogonalMap Fit(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int count, int dim)
    {
        if (count <= 0 || dim <= 0 || (long)count * dim != x.Length || x.Length != y.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"Procrustes: expected two {count}×{dim} matrices, got {x.Length} and {y.Length} values");
        }

        var m = new double[dim * dim];
        for (int r = 0; r < count; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var yr = y.Slice(r * dim, dim);
            for (int i = 0; i < dim; i++)
            {
                double xi = xr[i];
                var row = m.AsSpan(i * dim, dim);
                for (int j = 0; j < dim; j++)
                {
                    row[j] += xi * yr[j];
                }
            }
        }

        var svd = Svd.Decompose(m, dim, dim);
        var w = new double[dim * dim];
        for (int i = 0; i < dim; i++)
        {
            for (int j = 0; j < dim; j++)
            {
                double s = 0;
                for (int k = 0; k < dim; k++)
                {
                    s += svd.U[(i * dim) + k] * svd.V[(j * dim) + k];
                }

                w[(i * dim) + j] = s;
            }
        }

        return new OrthogonalMap(dim, w);
    }

    /// <summary>Maps <paramref name="count"/> row vectors: output = input·W.</summary>
    public float[] Apply(ReadOnlySpan<float> vectors, int count)
    {
        if ((long)count * Dim != vectors.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"map: expected {count}×{Dim} values, got {vectors.Length}");
        }

        var result = new float[vectors.Length];
        for (int r = 0; r < count; r++)
        {
            var v = vectors.Slice(r * Dim, Dim);
            var o = result.AsSpan(r * Dim, Dim);
            for (int j = 0; j < Dim; j++)
            {
                double s = 0;
                for (int i = 0; i < Dim; i++)
                {
                    s += v[i] * Weights[(i * Dim) + j];
                }

                o[j] = (float)s;
            }
        }

        return result;
    }
}
