using Protea.Data;
using Protea.Models;
using Protea.Tests.Support;
using Protea.Training;
using Protea.Training.Objectives;
using static TorchSharp.torch;

namespace Protea.Tests.Clustering;

/// <summary>
/// Discovery trains on labelled and unlabelled items: SimCLR (NT-Xent) learns from every item, while
/// cross-entropy and SupCon leave the unlabelled ones (label −1) out of their terms.
/// </summary>
public sealed class UnlabelledItemsTrainingTests
{
    private static readonly long[] BatchLabels = [0, -1, 2, -1, 1, 0];

    [Fact]
    public void Cross_entropy_leaves_unlabelled_rows_out_of_its_value_and_gradient()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var logits = randn(6, 3).requires_grad_();
        var batch = new TrainingBatch(zeros(6, 4), tensor(BatchLabels));
        var loss = new CrossEntropyObjective().Loss(batch, new ModelOutputs(null!, logits));
        // Hand oracle: the mean of -log softmax(logits[i])[y_i] over the labelled rows 0, 2, 4, 5.
        var l = logits.detach().to(float64).data<double>().ToArray();
        var expected = new[] { 0, 2, 4, 5 }.Average(i =>
        {
            var row = l.Skip(3 * i).Take(3).ToArray();
            var logSum = Math.Log(row.Sum(Math.Exp));
            return logSum - row[BatchLabels[i]];
        });
        Assert.Equal(expected, loss.item<float>(), 1e-5);
        loss.backward();
        var grad = logits.grad!.data<float>().ToArray();
        foreach (var i in new[] { 1, 3 }) Assert.All(grad.Skip(3 * i).Take(3), g => Assert.Equal(0f, g));
        Assert.Contains(grad.Take(3), g => g != 0);
    }

    private static Classifier Mlp() => Architectures.Create(new ModelDescription
    {
        Architecture = "mlp", Head = "linear", InputKind = InputKind.Tabular, InputShape = [4], ClassNames = ["a", "b", "c"],
        Normalization = new InputNormalization([0, 0, 0, 0], [1, 1, 1, 1], 1),
    });

    /// <summary>The gradient of the objective's term with respect to both views' embeddings, per row: [6] sums of |grad|.</summary>
    private static float[] RowGradients(ContrastiveObjective objective, out float loss)
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        using var model = Mlp();
        objective.Attach(model);
        var dim = model.Backbone.EmbeddingDim;
        var first = randn(6, dim).requires_grad_();
        var second = randn(6, dim).requires_grad_();
        var batch = new TrainingBatch(zeros(6, 4), tensor(BatchLabels));
        var outputs = new ModelOutputs(model, zeros(6, 3), first, SecondView: new ModelOutputs(model, zeros(6, 3), second));
        var value = objective.Loss(batch, outputs);
        loss = value.item<float>();
        value.backward();
        return first.grad!.abs().sum(1).add(second.grad!.abs().sum(1)).data<float>().ToArray();
    }

    [Fact]
    public void SupCon_compares_only_labelled_rows_and_NT_Xent_uses_every_row()
    {
        var supcon = RowGradients(new SupConObjective(), out var supconLoss);
        Assert.True(float.IsFinite(supconLoss));
        Assert.Equal(0f, supcon[1]);
        Assert.Equal(0f, supcon[3]);
        Assert.All(new[] { 0, 2, 4, 5 }, i => Assert.True(supcon[i] > 0));
        var simclr = RowGradients(new NtXentObjective(), out _);
        Assert.All(simclr, g => Assert.True(g > 0));
        Assert.True(new NtXentObjective().Needs.HasFlag(ObjectiveNeeds.UnlabelledItems));
        Assert.True(new SupConObjective().Needs.HasFlag(ObjectiveNeeds.LeavesOutUnlabelled));
        Assert.True(new CrossEntropyObjective().Needs.HasFlag(ObjectiveNeeds.LeavesOutUnlabelled));
    }

    /// <summary>Counts the labelled and unlabelled items of every batch it is given.</summary>
    private sealed class CountingObjective(ObjectiveNeeds needs) : IObjective
    {
        public long Labelled { get; private set; }
        public long Unlabelled { get; private set; }
        public string Name => "counting";
        public ObjectiveNeeds Needs => needs;

        public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
        {
            var labels = batch.Labels.data<long>().ToArray();
            Labelled += labels.Count(l => l >= 0);
            Unlabelled += labels.Count(l => l < 0);
            return outputs.Logits.sum().mul(0);
        }
    }

    [Fact]
    public void The_trainer_keeps_unlabelled_items_only_for_an_objective_that_learns_from_them()
    {
        using var table = CsvReader.Read(TestData.IrisCsv);
        var labels = table.Data.Labels.Select((l, i) => i % 2 == 0 ? l : -1).ToArray();
        using var data = new Dataset(table.Data.Inputs.clone(), labels, table.Data.ClassNames, InputKind.Tabular, "iris", table.Data.Ids);
        var options = new TrainOptions { Architecture = "mlp", Epochs = 2, BatchSize = 16, LearningRate = 0.01, Threads = 1 };

        var learns = new CountingObjective(ObjectiveNeeds.Logits | ObjectiveNeeds.UnlabelledItems);
        var leavesOut = new CountingObjective(ObjectiveNeeds.Logits | ObjectiveNeeds.LeavesOutUnlabelled);
        manual_seed(1);
        using (new Trainer(options) { Objectives = [learns, leavesOut, new CrossEntropyObjective()] }.Train(data, null).Bundle) { }
        Assert.Equal(2 * 75, learns.Labelled);
        Assert.Equal(2 * 75, learns.Unlabelled);

        // An objective that neither learns from nor leaves out unlabelled items: the loop sees the labelled ones only.
        var plain = new CountingObjective(ObjectiveNeeds.Logits);
        var learnsToo = new CountingObjective(ObjectiveNeeds.Logits | ObjectiveNeeds.UnlabelledItems);
        manual_seed(1);
        using (new Trainer(options) { Objectives = [learnsToo, plain, new CrossEntropyObjective()] }.Train(data, null).Bundle) { }
        Assert.Equal(2 * 75, plain.Labelled);
        Assert.Equal(0, plain.Unlabelled);
        Assert.Equal(0, learnsToo.Unlabelled);

        // Real objectives: SimCLR on all items with SupCon and cross-entropy on the labelled ones trains to finite losses.
        manual_seed(1);
        var result = new Trainer(options with { Objective = "simclr+supcon+ce" }).Train(data, null);
        using (result.Bundle) Assert.All(result.Epochs, e => Assert.True(double.IsFinite(e.TrainLoss)));
    }
}
