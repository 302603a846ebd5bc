namespace NativeAlign.Alignment.Words;

/// <summary>
/// Rectangular linear assignment: the maximum-weight (or minimum-cost) matching of a complete bipartite graph,
/// solved exactly by shortest augmenting paths with dual potentials (the Hungarian method in Jonker–Volgenant form,
/// O(r²·c) for r ≤ c). Matches min(rows, cols) pairs, like scipy's <c>linear_sum_assignment</c>.
/// </summary>
public static class LinearAssignment
{
    /// <summary>
    /// Finds the assignment maximising the summed weight. Returns for every row the matched column, or −1 when the row
    /// is left out (only when rows &gt; cols).
    /// </summary>
    /// <param name="weights">rows×cols row-major weights; must be finite.</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="cols">Number of columns.</param>
    public static int[] Maximize(ReadOnlySpan<float> weights, int rows, int cols) => Solve(weights, rows, cols, maximize: true);

    /// <summary>Finds the assignment minimising the summed cost; same contract as <see cref="Maximize"/>.</summary>
    public static int[] Minimize(ReadOnlySpan<float> costs, int rows, int cols) => Solve(costs, rows, cols, maximize: false);

    private static int[] Solve(ReadOnlySpan<float> w, int rows, int cols, bool maximize)
    {
        if (rows < 0 || cols < 0 || (long)rows * cols != w.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"assignment: a {rows}×{cols} matrix needs {(long)rows * cols} values, got {w.Length}");
        }

        foreach (var x in w)
        {
            if (!float.IsFinite(x))
            {
                throw new NativeAlignException(ErrorKind.Usage, "assignment: weights must be finite");
            }
        }

        var result = new int[rows];
        Array.Fill(result, -1);
        if (rows == 0 || cols == 0)
        {
            return result;
        }

        // The augmenting-path loop wants no more rows than columns; a tall matrix is solved transposed.
        bool transposed = rows > cols;
        int n = transposed ? cols : rows, m = transposed ? rows : cols;
        var cost = new double[n * m];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                double c = maximize ? -w[(i * cols) + j] : w[(i * cols) + j];
                if (transposed)
                {
                    cost[(j * m) + i] = c;
                }
                else
                {
                    cost[(i * m) + j] = c;
                }
            }
        }

        var colOfRow = SolveWide(cost, n, m);
        for (int i = 0; i < n; i++)
        {
            if (transposed)
            {
                result[colOfRow[i]] = i;
            }
            else
            {
                result[i] = colOfRow[i];
            }
        }

        return result;
    }

    /// <summary>Minimum-cost assignment of every row of an n×m (n ≤ m) matrix; returns the column of each row.</summary>
    private static int[] SolveWide(double[] cost, int n, int m)
    {
        // Dual potentials u (rows) and v (columns) keep every reduced cost c_ij − u_i − v_j ≥ 0; each row is added by a
        // Dijkstra search over reduced costs from that row to a free column, then potentials are updated along the tree.
        var u = new double[n];
        var v = new double[m];
        var rowOfCol = new int[m];
        Array.Fill(rowOfCol, -1);
        var colOfRow = new int[n];
        var dist = new double[m];
        var prevCol = new int[m];
        var done = new bool[m];
        var visitedCols = new int[m];
        for (int r = 0; r < n; r++)
        {
            Array.Fill(dist, double.PositiveInfinity);
            Array.Clear(done);
            int visited = 0;
            int row = r;
            double minSoFar = 0;
            int sink = -1;
            while (sink < 0)
            {
                int best = -1;
                double bestDist = double.PositiveInfinity;
                for (int j = 0; j < m; j++)
                {
                    if (done[j])
                    {
                        continue;
                    }

                    double d = minSoFar + cost[(row * m) + j] - u[row] - v[j];
                    if (d < dist[j])
                    {
                        dist[j] = d;
                        prevCol[j] = row;
                    }

                    // Ties prefer a free column so paths stay short.
                    if (dist[j] < bestDist || (dist[j] == bestDist && best >= 0 && rowOfCol[j] < 0 && rowOfCol[best] >= 0))
                    {
                        bestDist = dist[j];
                        best = j;
                    }
                }

                done[best] = true;
                visitedCols[visited++] = best;
                minSoFar = bestDist;
                if (rowOfCol[best] < 0)
                {
                    sink = best;
                }
                else
                {
                    row = rowOfCol[best];
                }
            }

            // Potential update: rows on the tree move by (minSoFar − dist of the column through which they were reached).
            u[r] += minSoFar;
            for (int t = 0; t < visited; t++)
            {
                int j = visitedCols[t];
                if (j == sink)
                {
                    continue;
                }

                int i = rowOfCol[j];
                u[i] += minSoFar - dist[j];
                v[j] -= minSoFar - dist[j];
            }

            // Augment along the path back to row r.
            int col = sink;
            while (true)
            {
                int i = prevCol[col];
                rowOfCol[col] = i;
                int next = colOfRow[i];
                colOfRow[i] = col;
                if (i == r)
                {
                    break;
                }

                col = next;
            }
        }

        return colOfRow;
    }
}
