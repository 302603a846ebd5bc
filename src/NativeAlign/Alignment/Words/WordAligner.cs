using NativeAlign.Alignment.Transport;
using NativeAlign.Backends;
using NativeAlign.Tensors;

namespace NativeAlign.Alignment.Words;

/// <summary>
/// Extracts word links from a source×target similarity matrix with the methods of SimAlign (ArgMax, IterMax, Match),
/// awesome-align (softmax threshold) and OTAlign (balanced, unbalanced and partial optimal transport).
/// </summary>
/// <remarks>
/// <para>Input conventions, as in each paper: ArgMax, IterMax, Match and the transport methods take cosine similarities
/// in [−1, 1] and work on (cos + 1)/2 times the distortion mask; Softmax takes raw dot products of the vectors
/// (awesome-align applies its softmax to <c>h_src·h_tgtᵀ</c>), with the distortion mask applied multiplicatively
/// when set.</para>
/// <para>Transport (OTAlign): cost C = 1 − minmax((cos+1)/2 · mask); masses uniform or embedding norms (normalised to 1
/// for balanced transport only, as OTAlign does); the plan is min-max scaled to [0, 1] and thresholded. Words that
/// receive no link are null-aligned — that is how OTAlign handles null alignment (unbalanced and partial transport
/// may leave mass untransported), so no explicit null token is added.</para>
/// <para>Links come sorted by (source, target). An empty sentence yields no links.</para>
/// </remarks>
public static class WordAligner
{
    /// <summary>Aligns one sentence pair.</summary>
    /// <param name="similarity">srcWords×tgtWords row-major similarities (see remarks for what each method expects).</param>
    /// <param name="srcWords">Number of source words.</param>
    /// <param name="tgtWords">Number of target words.</param>
    /// <param name="options">Method and parameters.</param>
    /// <param name="srcMass">Source word masses for <see cref="WordMassKind.Norm"/> (embedding norms); ignored otherwise.</param>
    /// <param name="tgtMass">Target word masses for <see cref="WordMassKind.Norm"/>; ignored otherwise.</param>
    public static WordLink[] Align(
        ReadOnlySpan<float> similarity, int srcWords, int tgtWords, WordAlignerOptions options,
        ReadOnlySpan<float> srcMass = default, ReadOnlySpan<float> tgtMass = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (srcWords < 0 || tgtWords < 0 || (long)srcWords * tgtWords != similarity.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"word alignment: a {srcWords}×{tgtWords} similarity matrix needs {(long)srcWords * tgtWords} values, got {similarity.Length}");
        }

        if (srcWords == 0 || tgtWords == 0)
        {
            return [];
        }

        foreach (var s in similarity)
        {
            if (!float.IsFinite(s))
            {
                throw new NativeAlignException(ErrorKind.Usage, "word alignment: the similarity matrix holds a NaN or infinity");
            }
        }

        int n = srcWords, m = tgtWords;
        return options.Method switch
        {
            WordAlignmentMethod.ArgMax => ArgMax(Shifted(similarity, n, m, options.Distortion), n, m),
            WordAlignmentMethod.IterMax => IterMax(Shifted(similarity, n, m, options.Distortion), n, m, options.IterMaxAlpha, options.IterMaxIterations),
            WordAlignmentMethod.Match => Match(Shifted(similarity, n, m, options.Distortion), n, m),
            WordAlignmentMethod.Softmax => Softmax(Distorted(similarity.ToArray(), n, m, options.Distortion), n, m, options.SoftmaxThreshold),
            _ => Transport(similarity, n, m, options, srcMass, tgtMass),
        };
    }

    /// <summary>
    /// Aligns many sentence pairs at once: the transport methods solve all their problems in one
    /// <see cref="SinkhornSolver.SolveBatch(SinkhornBatch, SinkhornOptions, IComputeBackend)"/> call, the other methods run the pairs in parallel. Results are identical
    /// to calling <see cref="Align"/> on each pair.
    /// </summary>
    /// <param name="similarities">One similarity matrix per pair, row-major srcWords×tgtWords.</param>
    /// <param name="shapes">(source words, target words) of each pair.</param>
    /// <param name="options">Method and parameters.</param>
    /// <param name="srcMasses">Per-pair source masses for <see cref="WordMassKind.Norm"/>, else null.</param>
    /// <param name="tgtMasses">Per-pair target masses for <see cref="WordMassKind.Norm"/>, else null.</param>
    /// <param name="backend">The backend the transport methods' batch runs on (<see cref="BackendOp.Sinkhorn"/>); null: the CPU solver.</param>
    public static WordLink[][] AlignBatch(
        IReadOnlyList<float[]> similarities, IReadOnlyList<(int Source, int Target)> shapes, WordAlignerOptions options,
        IReadOnlyList<float[]>? srcMasses = null, IReadOnlyList<float[]>? tgtMasses = null, IComputeBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(similarities);
        ArgumentNullException.ThrowIfNull(shapes);
        ArgumentNullException.ThrowIfNull(options);
        if (similarities.Count != shapes.Count || (srcMasses is not null && srcMasses.Count != shapes.Count) || (tgtMasses is not null && tgtMasses.Count != shapes.Count))
        {
            throw new NativeAlignException(ErrorKind.Usage, $"batch alignment: {similarities.Count} matrices for {shapes.Count} shapes (and matching mass lists) expected");
        }

        var result = new WordLink[shapes.Count][];
        bool transport = options.Method is WordAlignmentMethod.Ot or WordAlignmentMethod.Uot or WordAlignmentMethod.Pot;
        if (!transport)
        {
            Parallel.For(0, shapes.Count, p => result[p] = Align(similarities[p], shapes[p].Source, shapes[p].Target, options));
            return result;
        }

        var batch = new SinkhornBatch([.. shapes.Select(s => s.Source)], [.. shapes.Select(s => s.Target)]);
        for (int p = 0; p < shapes.Count; p++)
        {
            var (n, m) = shapes[p];
            if (similarities[p].Length != n * m)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"batch alignment: pair {p} is {n}×{m} but its matrix has {similarities[p].Length} values");
            }

            if (n == 0 || m == 0)
            {
                continue;
            }

            foreach (var x in similarities[p])
            {
                if (!float.IsFinite(x))
                {
                    throw new NativeAlignException(ErrorKind.Usage, $"batch alignment: pair {p}'s similarity matrix holds a NaN or infinity");
                }
            }

            TransportCost(similarities[p], n, m, options.Distortion).CopyTo(batch.Cost(p));
            var (a, b) = Masses(n, m, options, srcMasses is null ? default : srcMasses[p], tgtMasses is null ? default : tgtMasses[p]);
            a.CopyTo(batch.Source(p));
            b.CopyTo(batch.Target(p));
            if (options.Method == WordAlignmentMethod.Pot)
            {
                CheckFraction(options);
                batch.TransportedMasses[p] = options.PartialMassFraction >= 1f ? float.NaN : options.PartialMassFraction * Math.Min(a.Sum(), b.Sum());
            }
        }

        if (backend is null)
        {
            SinkhornSolver.SolveBatch(batch, options.ToSinkhornOptions());
        }
        else
        {
            SinkhornSolver.SolveBatch(batch, options.ToSinkhornOptions(), backend);
        }

        for (int p = 0; p < shapes.Count; p++)
        {
            var (n, m) = shapes[p];
            result[p] = n == 0 || m == 0 ? [] : LinksFromPlan(batch.Plan(p), n, m, options.TransportThreshold);
        }

        return result;
    }

    private static void CheckFraction(WordAlignerOptions o)
    {
        if (!(o.PartialMassFraction > 0f && o.PartialMassFraction <= 1f))
        {
            throw new NativeAlignException(ErrorKind.Usage, $"pot: the transported mass fraction must be in (0, 1], got {o.PartialMassFraction}");
        }
    }

    /// <summary>SimAlign's distortion mask applied in place: s_ij ·= 1 − κ (j/(m−1) − i/(n−1))²; no-op for κ = 0 or a side shorter than 2.</summary>
    internal static float[] Distorted(float[] sim, int n, int m, float ratio)
    {
        if (ratio == 0f || n < 2 || m < 2)
        {
            return sim;
        }

        for (int i = 0; i < n; i++)
        {
            float pi = i / (float)(n - 1);
            for (int j = 0; j < m; j++)
            {
                float d = (j / (float)(m - 1)) - pi;
                sim[(i * m) + j] *= 1f - (d * d * ratio);
            }
        }

        return sim;
    }

    private static float[] Shifted(ReadOnlySpan<float> cos, int n, int m, float distortion)
    {
        var s = new float[cos.Length];
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = (cos[i] + 1f) / 2f;
        }

        return Distorted(s, n, m, distortion);
    }

    private static int RowArgMax(ReadOnlySpan<float> s, int i, int m)
    {
        var row = s.Slice(i * m, m);
        int best = 0;
        for (int j = 1; j < m; j++)
        {
            if (row[j] > row[best])
            {
                best = j;
            }
        }

        return best;
    }

    private static int ColArgMax(ReadOnlySpan<float> s, int j, int n, int m)
    {
        int best = 0;
        for (int i = 1; i < n; i++)
        {
            if (s[(i * m) + j] > s[(best * m) + j])
            {
                best = i;
            }
        }

        return best;
    }

    private static WordLink[] ArgMax(float[] s, int n, int m)
    {
        var links = new List<WordLink>();
        for (int i = 0; i < n; i++)
        {
            int j = RowArgMax(s, i, m);
            if (ColArgMax(s, j, n, m) == i)
            {
                links.Add(new WordLink(i, j, s[(i * m) + j]));
            }
        }

        return [.. links];
    }

    /// <summary>
    /// SimAlign IterMax: start from ArgMax; each further round masks the similarities — pairs with both words aligned
    /// get 0, pairs with exactly one aligned word get α·s, pairs of two unaligned words keep s (the mask is
    /// min(1, α·[i free] + α·[j free]), which is α for one free side and 1 for two when α ≥ 0.5) — and adds the ArgMax
    /// links of the masked matrix that involve at least one unaligned word. It stops after the given number of rounds,
    /// when a round adds nothing, or when every word on one side is aligned; sentences with a side of ≤ 2 words keep
    /// the ArgMax result, as in SimAlign.
    /// </summary>
    private static WordLink[] IterMax(float[] s, int n, int m, float alpha, int rounds)
    {
        var aligned = new bool[n * m];
        for (int i = 0; i < n; i++)
        {
            int j = RowArgMax(s, i, m);
            if (ColArgMax(s, j, n, m) == i)
            {
                aligned[(i * m) + j] = true;
            }
        }

        if (Math.Min(n, m) > 2)
        {
            var masked = new float[n * m];
            var srcFree = new bool[n];
            var tgtFree = new bool[m];
            for (int round = 1; round < rounds; round++)
            {
                int freeSrc = 0, freeTgt = 0;
                for (int i = 0; i < n; i++)
                {
                    srcFree[i] = true;
                    for (int j = 0; j < m; j++)
                    {
                        srcFree[i] &= !aligned[(i * m) + j];
                    }

                    freeSrc += srcFree[i] ? 1 : 0;
                }

                for (int j = 0; j < m; j++)
                {
                    tgtFree[j] = true;
                    for (int i = 0; i < n; i++)
                    {
                        tgtFree[j] &= !aligned[(i * m) + j];
                    }

                    freeTgt += tgtFree[j] ? 1 : 0;
                }

                if (freeSrc == 0 || freeTgt == 0)
                {
                    break;
                }

                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < m; j++)
                    {
                        float mask = Math.Clamp((srcFree[i] ? alpha : 0f) + (tgtFree[j] ? alpha : 0f), 0f, 1f);
                        masked[(i * m) + j] = s[(i * m) + j] * mask;
                    }
                }

                bool added = false;
                for (int i = 0; i < n; i++)
                {
                    int j = RowArgMax(masked, i, m);
                    if ((srcFree[i] || tgtFree[j]) && ColArgMax(masked, j, n, m) == i && !aligned[(i * m) + j])
                    {
                        aligned[(i * m) + j] = true;
                        added = true;
                    }
                }

                if (!added)
                {
                    break;
                }
            }
        }

        var links = new List<WordLink>();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                if (aligned[(i * m) + j])
                {
                    links.Add(new WordLink(i, j, s[(i * m) + j]));
                }
            }
        }

        return [.. links];
    }

    private static WordLink[] Match(float[] s, int n, int m)
    {
        var cols = LinearAssignment.Maximize(s, n, m);
        var links = new List<WordLink>();
        for (int i = 0; i < n; i++)
        {
            if (cols[i] >= 0)
            {
                links.Add(new WordLink(i, cols[i], s[(i * m) + cols[i]]));
            }
        }

        return [.. links];
    }

    /// <summary>awesome-align: P_src = softmax over each row, P_tgt = softmax over each column; link where both exceed the threshold.</summary>
    private static WordLink[] Softmax(float[] s, int n, int m, float threshold)
    {
        var rowP = new double[n * m];
        var colP = new double[n * m];
        for (int i = 0; i < n; i++)
        {
            double mx = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < m; j++)
            {
                mx = Math.Max(mx, s[(i * m) + j]);
            }

            for (int j = 0; j < m; j++)
            {
                sum += rowP[(i * m) + j] = Math.Exp(s[(i * m) + j] - mx);
            }

            for (int j = 0; j < m; j++)
            {
                rowP[(i * m) + j] /= sum;
            }
        }

        for (int j = 0; j < m; j++)
        {
            double mx = double.NegativeInfinity, sum = 0;
            for (int i = 0; i < n; i++)
            {
                mx = Math.Max(mx, s[(i * m) + j]);
            }

            for (int i = 0; i < n; i++)
            {
                sum += colP[(i * m) + j] = Math.Exp(s[(i * m) + j] - mx);
            }

            for (int i = 0; i < n; i++)
            {
                colP[(i * m) + j] /= sum;
            }
        }

        var links = new List<WordLink>();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                int p = (i * m) + j;
                if (rowP[p] > threshold && colP[p] > threshold)
                {
                    links.Add(new WordLink(i, j, (float)(rowP[p] * colP[p])));
                }
            }
        }

        return [.. links];
    }

    /// <summary>OTAlign's cost: 1 − minmax((cos+1)/2 · distortion mask), minmax(x) = (x − min + 1e-10)/(max − min + 1e-10).</summary>
    internal static float[] TransportCost(ReadOnlySpan<float> cos, int n, int m, float distortion)
    {
        var c = Shifted(cos, n, m, distortion);
        MinMaxScale(c);
        for (int p = 0; p < c.Length; p++)
        {
            c[p] = 1f - c[p];
        }

        return c;
    }

    internal static void MinMaxScale(Span<float> x)
    {
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        foreach (var v in x)
        {
            lo = MathF.Min(lo, v);
            hi = MathF.Max(hi, v);
        }

        // A plan that is constant up to the solver's float32 accuracy (one word on a side: the plan is the marginal)
        // scales to 1 everywhere, as the float64 formula does for exactly equal values; noise must not pick links.
        // The bound is the solver's own accuracy (plans agree with POT to ~1e-5 absolute, ~1e-4 of an entry), not
        // float32 epsilon: after a hundred Sinkhorn iterations equal entries differ by more than rounding.
        if ((double)hi - lo <= 1e-4 * Math.Abs(hi))
        {
            x.Fill(1f);
            return;
        }

        double range = (double)hi - lo + 1e-10;
        for (int p = 0; p < x.Length; p++)
        {
            x[p] = (float)((x[p] - (double)lo + 1e-10) / range);
        }
    }

    /// <summary>The word masses OTAlign uses; balanced transport normalises them to sum 1.</summary>
    internal static (float[] A, float[] B) Masses(int n, int m, WordAlignerOptions o, ReadOnlySpan<float> srcMass, ReadOnlySpan<float> tgtMass)
    {
        float[] a, b;
        if (o.Mass == WordMassKind.Norm)
        {
            if (srcMass.Length != n || tgtMass.Length != m)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"norm masses: expected {n} source and {m} target weights, got {srcMass.Length} and {tgtMass.Length}");
            }

            a = srcMass.ToArray();
            b = tgtMass.ToArray();
        }
        else
        {
            a = new float[n];
            b = new float[m];
            Array.Fill(a, 1f);
            Array.Fill(b, 1f);
        }

        if (o.Method == WordAlignmentMethod.Ot)
        {
            float sa = a.Sum(), sb = b.Sum();
            for (int i = 0; i < n; i++)
            {
                a[i] /= sa;
            }

            for (int j = 0; j < m; j++)
            {
                b[j] /= sb;
            }
        }

        return (a, b);
    }

    private static WordLink[] Transport(ReadOnlySpan<float> cos, int n, int m, WordAlignerOptions o, ReadOnlySpan<float> srcMass, ReadOnlySpan<float> tgtMass)
    {
        var cost = TransportCost(cos, n, m, o.Distortion);
        var (a, b) = Masses(n, m, o, srcMass, tgtMass);
        var so = o.ToSinkhornOptions();
        if (o.Method == WordAlignmentMethod.Pot)
        {
            CheckFraction(o);
            so = so with { TransportedMass = o.PartialMassFraction >= 1f ? null : o.PartialMassFraction * Math.Min(a.Sum(), b.Sum()) };
        }

        var plan = new float[n * m];
        SinkhornSolver.Solve(cost, n, m, a, b, plan, so);
        return LinksFromPlan(plan, n, m, o.TransportThreshold);
    }

    /// <summary>Min-max scales a plan (OTAlign) and returns the cells above the threshold.</summary>
    public static WordLink[] LinksFromPlan(Span<float> plan, int n, int m, float threshold)
    {
        if ((long)n * m != plan.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"plan of {plan.Length} values is not {n}×{m}");
        }

        MinMaxScale(plan);
        var links = new List<WordLink>();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                if (plan[(i * m) + j] > threshold)
                {
                    links.Add(new WordLink(i, j, plan[(i * m) + j]));
                }
            }
        }

        return [.. links];
    }
}
