namespace NativeAlign.Alignment.Spaces;

/// <summary>
/// Post-processing of an embedding space: per-language mean centering (Libovický et al. 2020), ZCA whitening
/// (Bell &amp; Sejnowski 1997; Su et al. 2021) and outlier-dimension removal (Kovaleva et al. 2021; Puccetti et al. 2022).
/// Vectors are row-major count×dim.
/// </summary>
public static class SpaceTransforms
{
    /// <summary>The mean vector of <paramref name="count"/> rows.</summary>
    public static double[] Mean(ReadOnlySpan<float> vectors, int count, int dim)
    {
        Check(vectors, count, dim);
        var mean = new double[dim];
        for (int r = 0; r < count; r++)
        {
            var v = vectors.Slice(r * dim, dim);
            for (int d = 0; d < dim; d++)
            {
                mean[d] += v[d];
            }
        }

        for (int d = 0; d < dim; d++)
        {
            mean[d] /= Math.Max(1, count);
        }

        return mean;
    }

    /// <summary>Subtracts the language's mean vector from every row in place and returns that mean.</summary>
    public static double[] MeanCenter(Span<float> vectors, int count, int dim)
    {
        var mean = Mean(vectors, count, dim);
        for (int r = 0; r < count; r++)
        {
            var v = vectors.Slice(r * dim, dim);
            for (int d = 0; d < dim; d++)
            {
                v[d] = (float)(v[d] - mean[d]);
            }
        }

        return mean;
    }

    /// <summary>
    /// Fits ZCA whitening: W = E·(Λ + εI)^(−1/2)·Eᵀ for the covariance Σ = E·Λ·Eᵀ of the rows (divided by count).
    /// Applying x ↦ (x − μ)·W gives identity covariance while staying as close as possible to the input (unlike PCA
    /// whitening it does not rotate). Returns (μ, W row-major dim×dim).
    /// </summary>
    public static (double[] Mean, double[] Whitening) FitZca(ReadOnlySpan<float> vectors, int count, int dim, double epsilon = 1e-8)
    {
        var mean = Mean(vectors, count, dim);
        var cov = new double[dim * dim];
        var c = new double[dim];
        for (int r = 0; r < count; r++)
        {
            var v = vectors.Slice(r * dim, dim);
            for (int d = 0; d < dim; d++)
            {
                c[d] = v[d] - mean[d];
            }

            for (int i = 0; i < dim; i++)
            {
                var row = cov.AsSpan(i * dim, dim);
                for (int j = 0; j < dim; j++)
                {
                    row[j] += c[i] * c[j];
                }
            }
        }

        for (int p = 0; p < cov.Length; p++)
        {
            cov[p] /= count;
        }

        // Σ is symmetric positive semi-definite, so its SVD is its eigendecomposition (U = V = E, S = Λ).
        var svd = Svd.Decompose(cov, dim, dim);
        var w = new double[dim * dim];
        for (int i = 0; i < dim; i++)
        {
            for (int j = 0; j < dim; j++)
            {
                double s = 0;
                for (int k = 0; k < dim; k++)
                {
                    s += svd.U[(i * dim) + k] * svd.U[(j * dim) + k] / Math.Sqrt(svd.S[k] + epsilon);
                }

                w[(i * dim) + j] = s;
            }
        }

        return (mean, w);
    }

    /// <summary>Applies x ↦ (x − mean)·W to every row.</summary>
    public static float[] ApplyAffine(ReadOnlySpan<float> vectors, int count, int dim, ReadOnlySpan<double> mean, ReadOnlySpan<double> w)
    {
        Check(vectors, count, dim);
        var result = new float[vectors.Length];
        var c = new double[dim];
        for (int r = 0; r < count; r++)
        {
            var v = vectors.Slice(r * dim, dim);
            for (int d = 0; d < dim; d++)
            {
                c[d] = v[d] - mean[d];
            }

            for (int j = 0; j < dim; j++)
            {
                double s = 0;
                for (int i = 0; i < dim; i++)
                {
                    s += c[i] * w[(i * dim) + j];
                }

                result[(r * dim) + j] = (float)s;
            }
        }

        return result;
    }

    /// <summary>
    /// Outlier dimensions: those whose mean value over the rows lies more than <paramref name="sigmas"/> standard
    /// deviations from the average of all dimensions' means (Kovaleva et al. 2021's 3σ criterion). Ascending indices.
    /// </summary>
    public static int[] OutlierDimensions(ReadOnlySpan<float> vectors, int count, int dim, double sigmas = 3)
    {
        var mean = Mean(vectors, count, dim);
        double mu = mean.Average();
        double sd = Math.Sqrt(mean.Sum(m => (m - mu) * (m - mu)) / dim);
        return [.. Enumerable.Range(0, dim).Where(d => Math.Abs(mean[d] - mu) > sigmas * sd)];
    }

    /// <summary>Copies the rows without the listed dimensions (count×(dim − removed)).</summary>
    public static float[] RemoveDimensions(ReadOnlySpan<float> vectors, int count, int dim, IReadOnlyCollection<int> remove)
    {
        Check(vectors, count, dim);
        ArgumentNullException.ThrowIfNull(remove);
        var keep = Enumerable.Range(0, dim).Where(d => !remove.Contains(d)).ToArray();
        var result = new float[count * keep.Length];
        for (int r = 0; r < count; r++)
        {
            for (int k = 0; k < keep.Length; k++)
            {
                result[(r * keep.Length) + k] = vectors[(r * dim) + keep[k]];
            }
        }

        return result;
    }

    internal static void Check(ReadOnlySpan<float> vectors, int count, int dim)
    {
        if (count < 0 || dim <= 0 || (long)count * dim != vectors.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"expected {count}×{dim} values, got {vectors.Length}");
        }
    }
}
