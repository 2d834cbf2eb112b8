"""
======================================================
Mixed-type tables: ColumnTransformer and pandas output
======================================================

Real tables mix numbers on different scales with categories. The usual
scikit-learn preprocessing -- :class:`~sklearn.preprocessing.StandardScaler`
for the numbers, :class:`~sklearn.preprocessing.OneHotEncoder` for the
categories, combined by a :class:`~sklearn.compose.ColumnTransformer` --
feeds an autoencoder like any other step, and ``set_output(transform="pandas")``
keeps the column names all the way through.

The data are scikit-learn's diabetes table in its original units: age in
years, sex (coded 1 and 2), body mass index, blood pressure and six blood
serum measurements of 442 patients, and a measure of disease progression one
year later, which the model does not see.
"""

# %%
# A pandas frame with a categorical column
# ----------------------------------------
import matplotlib.pyplot as plt
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skvae import VAETransformer

diabetes = load_diabetes(as_frame=True, scaled=False)
frame = diabetes.data.astype({"sex": "category"})
progression = diabetes.target
numeric = [column for column in frame.columns if column != "sex"]
frame.head()

# %%
# The pipeline
# ------------
# The numbers are standardised (see :ref:`scaling`) and the sex is one-hot
# encoded; a :class:`~skvae.VAETransformer` then summarises each patient in
# two latent variables. ``set_output(transform="pandas")`` applies to every
# step, so each one returns a DataFrame.
preprocess = ColumnTransformer(
    [
        ("numeric", StandardScaler(), numeric),
        ("category", OneHotEncoder(sparse_output=False), ["sex"]),
    ]
)
pipeline = make_pipeline(
    preprocess, VAETransformer(n_components=2, hidden_layer_sizes=(32,), random_state=0)
).set_output(transform="pandas")
pipeline

# %%
# Fitting the pipeline and transforming the frame gives a DataFrame with the
# patients' index and one column per latent variable, named after the class
# as for :class:`~sklearn.decomposition.PCA`.
codes = pipeline.fit_transform(frame)
codes.head()

# %%
# The VAE knows the names of the columns it was fitted on -- those the
# ColumnTransformer produced:
vae = pipeline[-1]
print(vae.feature_names_in_)
print(pipeline.get_feature_names_out())

# %%
# What the two latent variables capture
# -------------------------------------
# The codes were learned from the eleven input columns alone. Colouring them
# by the disease progression, which the model never saw, and correlating them
# with each input column shows what the unsupervised summary has picked up.
inputs = pipeline[0].transform(frame)
correlations = {name: inputs.corrwith(code) for name, code in codes.items()}
print("correlation with the disease progression:", codes.corrwith(progression).round(2).to_dict())

fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained", width_ratios=[1.2, 1])
points = axes[0].scatter(
    codes["vaetransformer0"], codes["vaetransformer1"], c=progression, cmap="viridis", s=12
)
fig.colorbar(points, ax=axes[0], label="disease progression after one year")
axes[0].set_xlabel("vaetransformer0")
axes[0].set_ylabel("vaetransformer1")
axes[0].set_title("Patients in the two latent variables")

names = inputs.columns
for offset, (name, correlation) in zip([-0.2, 0.2], correlations.items(), strict=True):
    axes[1].barh([i + offset for i in range(len(names))], correlation, height=0.4, label=name)
axes[1].set_yticks(range(len(names)), names)
axes[1].invert_yaxis()
axes[1].axvline(0, color="black", linewidth=0.8)
axes[1].set_xlabel("correlation with the latent variable")
axes[1].set_title("Inputs behind each latent variable")
axes[1].legend()
