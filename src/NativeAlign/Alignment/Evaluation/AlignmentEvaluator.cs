using NativeAlign.Alignment.Formats;

namespace NativeAlign.Alignment.Evaluation;

/// <summary>Corpus-level alignment quality (micro-averaged over all sentence pairs).</summary>
/// <param name="Precision">|A∩P| / |A|.</param>
/// <param name="Recall">|A∩S| / |S|.</param>
/// <param name="F1">Harmonic mean of <paramref name="Precision"/> and <paramref name="Recall"/>.</param>
/// <param name="Aer">Alignment error rate 1 − (|A∩S| + |A∩P|) / (|A| + |S|).</param>
/// <param name="Predicted">|A|, predicted links.</param>
/// <param name="Sure">|S|, sure gold links.</param>
/// <param name="PredictedAndSure">|A∩S|.</param>
/// <param name="PredictedAndPossible">|A∩P|.</param>
/// <param name="Sentences">Sentence pairs scored.</param>
public readonly record struct AlignmentScores(
    double Precision, double Recall, double F1, double Aer, long Predicted, long Sure, long PredictedAndSure, long PredictedAndPossible, int Sentences);

/// <summary>
/// Och &amp; Ney (2003) alignment evaluation with sure (S) and possible (P ⊇ S) gold links: counts are summed over the
/// corpus, then precision = |A∩P|/|A|, recall = |A∩S|/|S|, AER = 1 − (|A∩S| + |A∩P|)/(|A| + |S|). A ratio with a zero
/// denominator is taken as 0, except AER's: with no link in the gold nor in the predictions (no sentences, or only
/// empty ones) there is nothing to score, and 0 — a perfect score — would be a lie, so that is an input error.
/// </summary>
public static class AlignmentEvaluator
{
    /// <summary>Scores <paramref name="predicted"/> against <paramref name="gold"/>, sentence by sentence.</summary>
    /// <param name="gold">Gold alignments.</param>
    /// <param name="predicted">Predicted alignments (their sure/possible marks are ignored: every link is a prediction).</param>
    /// <param name="possibleAsSure">Count possible gold links as sure too (MultiMWA "sure and possible" setting).</param>
    /// <param name="goldPath">Names the gold file in errors.</param>
    /// <param name="predictedPath">Names the prediction file in errors.</param>
    /// <exception cref="InputFormatException">The sentence counts differ, or neither side has a single link.</exception>
    public static AlignmentScores Evaluate(
        IReadOnlyList<SentenceAlignment> gold, IReadOnlyList<SentenceAlignment> predicted, bool possibleAsSure = false, string? goldPath = null, string? predictedPath = null)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(predicted);
        if (gold.Count != predicted.Count)
        {
            throw new InputFormatException(predictedPath, null, $"has {predicted.Count} sentence lines but the gold {goldPath ?? "standard"} has {gold.Count}");
        }

        long a = 0, s = 0, aS = 0, aP = 0;
        for (int k = 0; k < gold.Count; k++)
        {
            var sure = possibleAsSure ? gold[k].Possible : gold[k].Sure;
            var possible = gold[k].Possible;
            var pred = predicted[k].Possible;
            a += pred.Count;
            s += sure.Count;
            foreach (var link in pred)
            {
                aS += sure.Contains(link) ? 1 : 0;
                aP += possible.Contains(link) ? 1 : 0;
            }
        }

        if (a + s == 0)
        {
            throw new InputFormatException(goldPath, null, gold.Count == 0
                ? $"has no sentence pairs (nor has {predictedPath ?? "the prediction"}); AER is undefined"
                : $"has no links in its {gold.Count} sentence pairs, nor has {predictedPath ?? "the prediction"}; AER is undefined");
        }

        double precision = a == 0 ? 0 : (double)aP / a;
        double recall = s == 0 ? 0 : (double)aS / s;
        double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        double aer = 1.0 - ((double)(aS + aP) / (a + s));
        return new AlignmentScores(precision, recall, f1, aer, a, s, aS, aP, gold.Count);
    }
}
