using Protea.Data;
using Protea.Models;
using Protea.Training;
using Protea.Training.Objectives;

namespace Protea.Runs;

/// <summary>How a student learns from its teacher (<see cref="DistillationRun"/>).</summary>
/// <param name="Temperature">Softmax temperature of the soft targets (Hinton et al. use 1 to 20; default 4).</param>
/// <param name="Alpha">Weight of the soft-target term; the labels' cross-entropy gets 1 - alpha.</param>
/// <param name="FeatureWeight">Weight of feature distillation through a learned projection; 0: off.</param>
public sealed record DistillationSettings(
    string TeacherDir,
    double Temperature = DistillationObjective.DefaultTemperature,
    double Alpha = DistillationObjective.DefaultAlpha,
    double FeatureWeight = 0);

/// <summary>
/// `protea distill`: trains a student (any architecture and width, e.g. a half-width cnn) on the
/// data with the teacher's soft targets (<see cref="DistillationObjective"/>), as a training run
/// (<see cref="TrainingRun"/>: the same run folder, checkpoints, evaluation and reports). The student
/// takes the teacher's input normalisation; the data must have the teacher's classes and input
/// shape. The teacher is only read.
/// </summary>
public static class DistillationRun
{
    public static TrainingRun.Result Execute(DataSpec spec, TrainOptions student, DistillationSettings settings, string outDir,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (student.Init is not null)
            throw new ProteaException("a distilled student starts from fresh weights; pretrained weights cannot be given", "init");
        var bundle = AsTeacher(() => ModelBundle.Load(settings.TeacherDir));
        using var teacher = new Teacher(bundle);
        var objectives = DistillationObjective.ForStudent(teacher, settings.Temperature, settings.Alpha, settings.FeatureWeight, student.LabelSmoothing);
        var options = student with
        {
            Objective = settings.FeatureWeight > 0 ? "distill+ce+feature_distill" : "distill+ce",
            Temperature = settings.Temperature,
        };
        var d = bundle.Description;
        return TrainingRun.Execute(spec, options, outDir, resume: false, progress, cancellation, choose: train =>
        {
            if (train.Kind != d.InputKind || !train.ExampleShape.SequenceEqual(d.InputShape))
                throw new ProteaException($"{train.Source}: the data has {Shape(train.ExampleShape)} inputs, the teacher takes {Shape(d.InputShape)}", "data");
            if (!train.ClassNames.SequenceEqual(d.ClassNames))
                throw new ProteaException($"{train.Source}: the data's classes ({string.Join(", ", train.ClassNames)}) are not the teacher's ({string.Join(", ", d.ClassNames)})", "data");
            return options;
        }, objectives: objectives, normalization: d.Normalization);
    }

    /// <summary>
    /// The student's starting options: the teacher's training recipe (epochs, learning rate,
    /// augmentation) when its model.json has one, else the defaults, without pretrained weights;
    /// the caller sets the student's architecture and width.
    /// </summary>
    public static TrainOptions StudentDefaults(string teacherDir)
    {
        var d = AsTeacher(() => ModelBundle.ReadDescription(teacherDir));
        TrainOptions? recipe = null;
        if (d.Recipe is { } json)
        {
            try { recipe = System.Text.Json.JsonSerializer.Deserialize<TrainOptions>(json, IO.ProteaJson.Options); }
            catch (System.Text.Json.JsonException) { recipe = null; }
        }
        return (recipe ?? new TrainOptions { Architecture = d.Architecture, Head = d.Head }) with
        {
            Init = null, Stem = d.Stem, Width = 1, Objective = ObjectiveList.Default, Temperature = null, Margin = null,
            Sampler = null, ClassesPerBatch = null, ItemsPerClass = null, Limit = null,
        };
    }

    /// <summary>A model folder that cannot be read is named as the teacher setting, not the model one.</summary>
    private static T AsTeacher<T>(Func<T> load)
    {
        try { return load(); }
        catch (ProteaException e) when (e.Field is "model" or null) { throw new ProteaException(e.Message, "teacher"); }
    }

    private static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
