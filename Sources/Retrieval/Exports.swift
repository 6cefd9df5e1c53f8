// Retrieval's API is expressed in Terminology's types (PreferredTerm,
// CandidateDictionary, CandidateTemplate) and the Python-whitespace rules
// now live there (the loaders need them too): importing Retrieval brings them.
@_exported import Terminology
