namespace Protea.Predictions;

/// <summary>
/// One piece of evidence a <see cref="Prediction"/> can show for its class. Each kind (a prototype and
/// the training patch it stands for, a nearest training item, a saliency map) derives from this record
/// where its capability is built (prototypes: <see cref="Prototypes.PrototypeEvidence"/>), and a
/// <see cref="Predictor"/> given an <see cref="IEvidenceSource"/> fills <see cref="Prediction.Evidence"/>.
/// </summary>
/// <param name="Kind">What kind of evidence it is, for hosts that show each kind differently.</param>
public abstract record Evidence(string Kind);
