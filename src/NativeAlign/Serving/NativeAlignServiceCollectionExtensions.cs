using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NativeAlign.Models;

namespace NativeAlign.Serving;

/// <summary>Registration of NativeAlign's embedding generator in an <see cref="IServiceCollection"/>.</summary>
public static class NativeAlignServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="SentenceEncoder"/> loaded from <paramref name="model"/> (a folder, or <c>org/name</c> in the
    /// Hugging Face cache) on first use, and an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of strings over it;
    /// both singletons, disposed with the service provider.
    /// </summary>
    /// <example>
    /// <code>
    /// services.AddNativeAlignEmbeddings("sentence-transformers/all-MiniLM-L6-v2", new SentenceEncoderOptions { Normalize = true });
    /// var generator = provider.GetRequiredService&lt;IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;&gt;();
    /// </code>
    /// </example>
    public static IServiceCollection AddNativeAlignEmbeddings(this IServiceCollection services, string model, SentenceEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(model);
        services.AddSingleton(_ => SentenceEncoder.Load(model, options));
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(provider =>
            new SentenceEmbeddingGenerator(provider.GetRequiredService<SentenceEncoder>(), model));
        return services;
    }
}
