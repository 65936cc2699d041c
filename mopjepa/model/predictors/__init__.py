"""model/predictors"""
