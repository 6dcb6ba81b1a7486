using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// The projection head of a contrastive objective (SimCLR's g): Linear - ReLU - Linear from the
/// embedding to <see cref="DefaultDim"/>-d, whose output the loss L2-normalises. It trains with the
/// objective that owns it and is dropped after training: it is no part of the saved model.
/// </summary>
public sealed class ProjectionHead : nn.Module<Tensor, Tensor>
{
    public const long DefaultDim = 128;

    private readonly Linear fc1;
    private readonly Linear fc2;

    public ProjectionHead(long embeddingDim, long outputDim = DefaultDim) : base("projection")
    {
        fc1 = nn.Linear(embeddingDim, embeddingDim);
        fc2 = nn.Linear(embeddingDim, outputDim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor embedding) => fc2.forward(nn.functional.relu(fc1.forward(embedding)));
}
