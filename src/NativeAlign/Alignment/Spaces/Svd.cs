namespace NativeAlign.Alignment.Spaces;

/// <summary>A thin singular value decomposition A = U·diag(S)·Vᵀ of a rows×cols matrix, k = min(rows, cols).</summary>
/// <param name="U">rows×k, orthonormal columns, row-major.</param>
/// <param name="S">k singular values, descending.</param>
/// <param name="V">cols×k, orthonormal columns, row-major.</param>
public sealed record SvdResult(double[] U, double[] S, double[] V);

/// <summary>
/// Singular value decomposition by one-sided Jacobi rotations (Hestenes) in float64: column pairs are rotated until
/// every pair is orthogonal to relative precision 1e-15; the column norms are then the singular values. Accurate
/// (high relative accuracy even for small singular values) and simple; O(sweeps·rows·cols²).
/// </summary>
public static class Svd
{
    /// <summary>Decomposes the row-major rows×cols matrix <paramref name="a"/>.</summary>
    public static SvdResult Decompose(ReadOnlySpan<double> a, int rows, int cols)
    {
        if (rows < 0 || cols < 0 || (long)rows * cols != a.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"SVD: a {rows}×{cols} matrix needs {(long)rows * cols} values, got {a.Length}");
        }

        if (rows < cols)
        {
            // A = U S Vᵀ  ⇔  Aᵀ = V S Uᵀ.
            var t = new double[a.Length];
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < cols; j++)
                {
                    t[(j * rows) + i] = a[(i * cols) + j];
                }
            }

            var r = Decompose(t, cols, rows);
            return new SvdResult(r.V, r.S, r.U);
        }

        int m = rows, n = cols;

        // Columns of A stored as contiguous rows of at (n×m), V as rows of vt (n×n), so rotations stream memory.
        var at = new double[n * m];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                at[(j * m) + i] = a[(i * n) + j];
            }
        }

        var vt = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            vt[(j * n) + j] = 1;
        }

        for (int sweep = 0; sweep < 60; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < n - 1; p++)
            {
                var ap = at.AsSpan(p * m, m);
                for (int q = p + 1; q < n; q++)
                {
                    var aq = at.AsSpan(q * m, m);
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int i = 0; i < m; i++)
                    {
                        alpha += ap[i] * ap[i];
                        beta += aq[i] * aq[i];
                        gamma += ap[i] * aq[i];
                    }

                    if (gamma == 0 || Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta))
                    {
                        continue;
                    }

                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double tan = Math.Sign(zeta == 0 ? 1 : zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + (zeta * zeta)));
                    double cos = 1 / Math.Sqrt(1 + (tan * tan));
                    double sin = cos * tan;
                    Rotate(ap, aq, cos, sin);
                    Rotate(vt.AsSpan(p * n, n), vt.AsSpan(q * n, n), cos, sin);
                }
            }

            if (!rotated)
            {
                break;
            }
        }

        var sigma = new double[n];
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            foreach (var x in at.AsSpan(j * m, m))
            {
                s += x * x;
            }

            sigma[j] = Math.Sqrt(s);
        }

        var order = Enumerable.Range(0, n).OrderByDescending(j => sigma[j]).ToArray();
        var u = new double[m * n];
        var v = new double[n * n];
        var sOut = new double[n];
        for (int k = 0; k < n; k++)
        {
            int j = order[k];
            sOut[k] = sigma[j];
            for (int i = 0; i < m; i++)
            {
                // A zero singular value leaves a zero column of U; callers here (Procrustes, whitening) never use it.
                u[(i * n) + k] = sigma[j] > 0 ? at[(j * m) + i] / sigma[j] : 0;
            }

            for (int i = 0; i < n; i++)
            {
                v[(i * n) + k] = vt[(j * n) + i];
            }
        }

        return new SvdResult(u, sOut, v);
    }

    private static void Rotate(Span<double> x, Span<double> y, double c, double s)
    {
        for (int i = 0; i < x.Length; i++)
        {
            double xi = x[i], yi = y[i];
            x[i] = (c * xi) - (s * yi);
            y[i] = (s * xi) + (c * yi);
        }
    }
}
