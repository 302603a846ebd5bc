namespace NativeAlign.Alignment.Spaces;

/// <summary>How similar two languages' representations of the same (parallel) items are.</summary>
public static class SpaceSimilarity
{
    /// <summary>
    /// Linear CKA (Kornblith et al. 2019): with column-centred X (n×d1) and Y (n×d2),
    /// CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F · ‖YᵀY‖_F); 1 for spaces equal up to rotation and isotropic scaling.
    /// </summary>
    public static double LinearCka(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int count, int dimX, int dimY)
    {
        SpaceTransforms.Check(x, count, dimX);
        SpaceTransforms.Check(y, count, dimY);
        var xc = Centered(x, count, dimX);
        var yc = Centered(y, count, dimY);
        double cross = FrobeniusSquaredOfProduct(yc, dimY, xc, dimX, count);
        double xx = Math.Sqrt(FrobeniusSquaredOfProduct(xc, dimX, xc, dimX, count));
        double yy = Math.Sqrt(FrobeniusSquaredOfProduct(yc, dimY, yc, dimY, count));
        return xx == 0 || yy == 0 ? 0 : cross / (xx * yy);
    }

    /// <summary>
    /// Average neuron-wise correlation (Del &amp; Fishel 2021): the mean over dimensions d of |Pearson(X[:, d], Y[:, d])|,
    /// for two languages' embeddings of the same items in the same model (equal dimension). Constant dimensions count as 0.
    /// </summary>
    public static double AverageNeuronCorrelation(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int count, int dim)
    {
        SpaceTransforms.Check(x, count, dim);
        SpaceTransforms.Check(y, count, dim);
        var xc = Centered(x, count, dim);
        var yc = Centered(y, count, dim);
        double total = 0;
        for (int d = 0; d < dim; d++)
        {
            double sxy = 0, sxx = 0, syy = 0;
            for (int r = 0; r < count; r++)
            {
                double a = xc[(r * dim) + d], b = yc[(r * dim) + d];
                sxy += a * b;
                sxx += a * a;
                syy += b * b;
            }

            total += sxx == 0 || syy == 0 ? 0 : Math.Abs(sxy / Math.Sqrt(sxx * syy));
        }

        return total / dim;
    }

    private static double[] Centered(ReadOnlySpan<float> v, int count, int dim)
    {
        var mean = SpaceTransforms.Mean(v, count, dim);
        var c = new double[v.Length];
        for (int r = 0; r < count; r++)
        {
            for (int d = 0; d < dim; d++)
            {
                c[(r * dim) + d] = v[(r * dim) + d] - mean[d];
            }
        }

        return c;
    }

    /// <summary>‖Aᵀ·B‖²_F for A (n×da) and B (n×db).</summary>
    private static double FrobeniusSquaredOfProduct(double[] a, int da, double[] b, int db, int n)
    {
        var p = new double[da * db];
        for (int r = 0; r < n; r++)
        {
            var ar = a.AsSpan(r * da, da);
            var br = b.AsSpan(r * db, db);
            for (int i = 0; i < da; i++)
            {
                double ai = ar[i];
                var row = p.AsSpan(i * db, db);
                for (int j = 0; j < db; j++)
                {
                    row[j] += ai * br[j];
                }
            }
        }

        double s = 0;
        foreach (var x in p)
        {
            s += x * x;
        }

        return s;
    }
}
